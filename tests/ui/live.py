"""A real uvicorn on loopback for tests: in a thread of the test process, or as a child process.

The child's app comes from ``movie_app`` (``python -m uvicorn --factory tests.ui.live:movie_app``):
the tiny movie catalog, the scripted fake LLM and the profile store in ``TASTEBUD_DATA_DIR``,
so a restarted child finds what the killed one wrote.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
from fastapi import FastAPI

REPO = Path(__file__).resolve().parents[2]
REPLY = "Here are a few picks for you."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn in a daemon thread; yields ``host:port``."""
    import uvicorn

    port = free_port()
    max_ws = app.state.services.server.max_ws_message
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off",
                                           ws_max_size=max_ws * 4))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def movie_app() -> FastAPI:
    """The app over the tiny movie catalog with the fake LLM (uvicorn ``--factory`` entry)."""
    from agent.llm.scripted import ScriptedChatModel
    from agent.manager import Manager
    from profiles.db import open_store
    from recsys.settings import get_settings
    from tests.agent.manager.conftest import movie_catalog
    from tests.agent.tools.helpers import make_context
    from ui.server import create_app
    from ui.server.settings import ServerSettings

    settings = get_settings()
    settings.catalog = "movies"
    manager = Manager(make_context(movie_catalog(), settings),
                      llm=ScriptedChatModel(fallback=REPLY, name="fake"), llm_nlu=False)
    return create_app(settings, manager_factory=lambda name: manager,
                      store=open_store(settings),
                      # tests sign many users up from one address in a minute
                      server=ServerSettings(turn_slots=4, signups_per_minute=10_000))


class ChildServer:
    """``movie_app`` under uvicorn in a child process (so it can be SIGKILLed)."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir, self.log_path = data_dir, log
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60) -> ChildServer:
        env = {**os.environ, "TASTEBUD_DATA_DIR": str(self.data_dir), "HF_HUB_OFFLINE": "1"}
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "tests.ui.live:movie_app",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{self.log()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(15)
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> ChildServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
