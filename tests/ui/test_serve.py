"""``tastebud serve`` prepares what is missing, prints the URL and answers on it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.recsys.catalog_files import write_tiny
from ui.cli import app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_trains_on_first_run_and_answers(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASTEBUD_EMBEDDING_MODEL", "hashing-64")
    monkeypatch.setenv("TASTEBUD_CATALOG", "tiny")
    r = CliRunner().invoke(app, ["catalog", "import", str(write_tiny(tmp_path / "files"))])
    assert r.exit_code == 0, r.output
    port = _free_port()
    cmd = [sys.executable, "-c", "from ui.cli import app; app()", "serve", "--llm", "fake",
           "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Tastebud is ready" in line:
                break
        out = "".join(lines)
        assert f"http://127.0.0.1:{port}/" in out, out
        # "ready" is said once the port is bound: the first request is answered at once
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert health["catalogs_loaded"] == ["tiny"]
        assert "Tastebud" in httpx.get(f"http://127.0.0.1:{port}/").text
        busy = CliRunner().invoke(app, ["serve", "--llm", "fake", "--port", str(port)])
        assert busy.exit_code == 2 and "pass --port" in busy.output
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_reads_the_server_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    """TASTEBUD_SERVER_* configure serve; --port wins over them."""
    import uvicorn

    monkeypatch.setenv("TASTEBUD_EMBEDDING_MODEL", "hashing-64")
    monkeypatch.setenv("TASTEBUD_CATALOG", "tiny")
    r = CliRunner().invoke(app, ["catalog", "import", str(write_tiny(tmp_path / "files"))])
    assert r.exit_code == 0, r.output
    ran: list[dict] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: ran.append(
        {"app": self.config.app, "port": self.config.port, "host": self.config.host}))
    port = _free_port()
    monkeypatch.setenv("TASTEBUD_SERVER_PORT", str(port))
    monkeypatch.setenv("TASTEBUD_SERVER_LIST_SIZE", "3")
    from recsys.settings import get_settings

    get_settings.cache_clear()  # the import above read the settings before these were set
    r = CliRunner().invoke(app, ["serve", "--llm", "fake"])
    assert r.exit_code == 0, r.output
    assert ran[-1]["port"] == port and ran[-1]["host"] == "127.0.0.1"
    services = ran[-1]["app"].state.services
    assert services.server.list_size == 3 and services.server.turn_slots == 4
    assert services.pool.get("tiny").list_size == 3
    other = _free_port()
    r = CliRunner().invoke(app, ["serve", "--llm", "fake", "--port", str(other)])
    assert r.exit_code == 0 and ran[-1]["port"] == other
