"""A catalog import running beside the server never blocks or fails a user's write.

The importer writes a 600,000-rating catalog into the catalogs' database (one long write
transaction) while chat turns and REST clicks go on; the users' data lives in its own file, so
every request succeeds and nothing acknowledged is lost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.ui.live import REPO, movie_app, serve_in_thread

SPEC = """name = "big"
title = "Big"
[items]
file = "items.csv"
id = "id"
title = "title"
[items.attributes.genre]
column = "genre"
[[interactions]]
file = "ratings.csv"
user = "user"
item = "item"
weight = "rating"
"""


def _big_catalog(root: Path, ratings: int = 600_000) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    genres = ["Comedy", "Drama", "Horror"]
    (root / "items.csv").write_text("id,title,genre\n" + "".join(
        f"{i},Item {i},{genres[i % 3]}\n" for i in range(3000)))
    users, items, stars = (rng.integers(0, 6000, ratings), rng.integers(0, 3000, ratings),
                           rng.integers(1, 6, ratings))
    (root / "ratings.csv").write_text("user,item,rating\n" + "".join(
        f"{u},{i},{r}\n" for u, i, r in zip(users, items, stars, strict=True)))
    (root / "big.toml").write_text(SPEC)
    return root / "big.toml"


@pytest.mark.slow
def test_an_import_beside_the_server_fails_no_request(tmp_path: Path) -> None:
    from benchmarks.load_ws import run_mixed

    spec = _big_catalog(tmp_path / "big")
    app = movie_app()  # profiles and catalogs in this test's data dir, as configured
    log = tmp_path / "import.log"
    with serve_in_thread(app) as host, log.open("w") as out:
        run_mixed(host, sessions=1, turns=2, label="warm")  # first turns load lazily
        tastebud = Path(sys.executable).with_name("tastebud")  # the installed CLI
        proc = subprocess.Popen([str(tastebud), "catalog", "import", str(spec)], cwd=REPO,
                                env={**os.environ}, stdout=out, stderr=subprocess.STDOUT)
        runs, during = [], 0
        t0 = time.monotonic()
        while proc.poll() is None and time.monotonic() - t0 < 300:
            runs.append(run_mixed(host, sessions=4, turns=3, seed=len(runs), turn_timeout_s=60,
                                  label=f"during-{len(runs)}"))
            during += proc.poll() is None  # this run ended with the import still going
        assert proc.wait(300) == 0, log.read_text()
    assert "600000 interactions" in log.read_text()
    assert runs and during >= 1, "the import ended before any load ran beside it"
    print("rest writes during the import:", [r["rest_write_latency_s"] for r in runs])
    for r in runs:
        assert r["errors"] == 0, r["error_samples"]
        assert r["rest_write_errors"] == 0, r["rest_write_error_samples"]
        assert r["lost_writes"] == 0, r["lost_samples"]
        # not queued behind the import's write lock (SQLite waits up to 30 s for it)
        assert r["rest_write_latency_s"]["max"] < 5, r["rest_write_latency_s"]
