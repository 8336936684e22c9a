"""A throwaway PostgreSQL server on loopback for the tests (initdb into a temp dir, pg_ctl)."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

_SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/pgsql-*/bin")


def find_bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl: from PATH, else a distribution's usual place."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    dirs = sorted((Path(d) for pat in _SEARCH for d in glob.glob(pat)),
                  key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.name.split(".")],
                  reverse=True)
    return next((d for d in dirs if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)


def require_bin_dir() -> Path:
    """The PostgreSQL binaries; skip when absent, but fail in CI (CI must run these tests)."""
    import pytest

    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = ("PostgreSQL binaries (initdb, pg_ctl) not found on PATH nor in "
                  "/usr/lib/postgresql/*/bin; install postgresql to run these tests")
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must run them)")
        pytest.skip(reason)
    return bin_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """initdb + pg_ctl start; as root, the server runs as ``nobody`` (initdb refuses root)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="tastebud-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._run_as: dict[str, Any] = {}
        if os.geteuid() == 0:
            import pwd

            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            self._run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        self._names = itertools.count(1)

    def _pg(self, tool: str, *args: str) -> None:
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(self.root)}
        proc = subprocess.run([str(self.bin_dir / tool), *args], env=env, cwd=self.root,
                              capture_output=True, text=True, timeout=120, **self._run_as)
        if proc.returncode:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({proc.returncode}):\n"
                               f"{proc.stdout}{proc.stderr}{tail}")

    def start(self) -> PostgresServer:
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                 "--no-sync", "-E", "UTF8", "--locale=C")
        for attempt in range(3):  # a free port can be taken between probing and binding
            self.port = _free_port()
            # fsync off: the tests check what the client sees, not the server's disk
            opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                    "-c fsync=off -c full_page_writes=off -c max_connections=60")
            try:
                self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                         "-o", opts, "-w", "-t", "60", "start")
                return self
            except RuntimeError:
                if attempt == 2:
                    raise
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """A fresh empty database; its URL (plain ``postgresql://``, as a user would write)."""
        import psycopg

        name = f"tb_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
