"""Every write acknowledged before a crash is there afterwards (the writer is SIGKILLed).

This covers a crashed process. On SQLite (WAL), a commit is in the WAL file before it
returns, so that holds with synchronous NORMAL too; FULL (what profiles.db sets) also fsyncs
the WAL at each commit, for power loss, which a test cannot stage here.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from profiles.store import ProfileStore

REPO = Path(__file__).resolve().parents[2]

# The child writes feedback as fast as it can and prints each id once the write has returned.
CHILD = """
import sys
from profiles.db import make_engine
from profiles.store import ProfileStore

store = ProfileStore(make_engine(sys.argv[1]))
user, session = int(sys.argv[2]), int(sys.argv[3])
print("ready", flush=True)
for i in range(1_000_000):
    store.add_feedback(user, item_id=str(i), kind="like", session_id=session, shown=["a", "b"])
    print(i, flush=True)
"""


def test_acknowledged_feedback_survives_sigkill(store: ProfileStore) -> None:
    user = store.create_user("Ann")[0]
    sess = store.create_session(user.id, "movielens-small")
    url = str(store.engine.url.render_as_string(hide_password=False))
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, str(user.id), str(sess.id)],
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    assert child.stdout is not None
    acked: list[int] = []
    try:
        assert child.stdout.readline() == "ready\n", child.stderr.read()  # type: ignore
        target = random.randint(60, 120)
        deadline = time.monotonic() + 20
        while len(acked) < target and time.monotonic() < deadline:
            line = child.stdout.readline()
            assert line, child.stderr.read()  # type: ignore[union-attr]
            acked.append(int(line))
        time.sleep(random.uniform(0, 0.01))  # land the kill at a random point of a write
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    rest = child.stdout.read()  # acknowledged between our last read and the kill
    acked += [int(x) for x in rest.split("\n")[:-1]]  # a cut-off last line proves nothing
    assert len(acked) >= 60

    stored = [int(f.item_id) for f in store.feedback_for(user.id)]
    assert set(acked) <= set(stored)
    assert stored == list(range(len(stored)))  # no holes, no duplicates
    assert len(stored) <= len(acked) + 1  # at most the write that was in flight
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
