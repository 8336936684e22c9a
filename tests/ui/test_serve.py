"""``tastebud serve`` prepares what is missing, prints the URL and answers on it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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
        for _ in range(100):
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health").json()
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert health["catalogs_loaded"] == ["tiny"]
        assert "Tastebud" in httpx.get(f"http://127.0.0.1:{port}/").text
        busy = CliRunner().invoke(app, ["serve", "--llm", "fake", "--port", str(port)])
        assert busy.exit_code == 2 and "pass --port" in busy.output
    finally:
        proc.terminate()
        proc.wait(10)
