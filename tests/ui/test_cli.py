"""The CLI as a person uses it: import, train, recommend, search; clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recsys.settings import get_settings
from tests.recsys.catalog_files import RATINGS, write_tiny
from ui.cli import app

runner = CliRunner()


@pytest.fixture
def tiny_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TASTEBUD_EMBEDDING_MODEL", "hashing-64")  # fast, deterministic
    monkeypatch.setenv("TASTEBUD_CATALOG", "tiny")
    get_settings.cache_clear()
    return write_tiny(tmp_path / "files")


def ok(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def test_import_train_recommend(tiny_spec: Path) -> None:
    assert "tiny: imported (5 items, 3 users, 5 interactions" in ok("catalog", "import",
                                                                    str(tiny_spec))
    assert "tiny: unchanged" in ok("catalog", "import", str(tiny_spec))
    out = ok("train", "-m", "popularity", "-m", "als")
    assert "trained popularity" in out and "trained als" in out and "semantic index: 5" in out
    rec = json.loads(ok("recommend", "--user", "2", "-m", "popularity", "--json"))
    titles = [x["title"] for x in rec["items"]]
    assert "Jumanji (1995)" not in titles and "Alien (1979)" in titles  # seen items left out
    out = ok("recommend", "--user", "1", "-m", "popularity")
    assert "Heat, The Remake (1995)" in out and "Toy Story" not in out
    hits = json.loads(ok("search", "alien horror", "--json"))
    assert hits[0]["title"] == "Alien (1979)"
    assert ok("similar", "--item", "4", "-m", "text", "--json")


def test_errors_are_one_clear_line(tiny_spec: Path) -> None:
    ok("catalog", "import", str(tiny_spec))
    r = runner.invoke(app, ["recommend", "--user", "nobody"])
    assert r.exit_code == 2 and "has no user 'nobody'" in r.output
    r = runner.invoke(app, ["recommend", "--user", "1", "-m", "als"])
    assert r.exit_code == 2 and "no trained 'als' model" in r.output
    assert "tastebud train" in r.output
    r = runner.invoke(app, ["train", "-m", "deep-magic"])
    assert r.exit_code == 2 and "unknown model 'deep-magic'; valid: als, bpr" in r.output
    (tiny_spec.parent / "ratings.csv").write_text(RATINGS + "9,1,five,1\n")
    r = runner.invoke(app, ["catalog", "import", str(tiny_spec)])
    assert r.exit_code == 2 and "ratings.csv:7: field 'rating'" in r.output
    r = runner.invoke(app, ["data", "fetch", "nope"])
    assert r.exit_code == 2 and "unknown dataset 'nope'" in r.output


def test_model_from_an_older_catalog_is_refused(tiny_spec: Path) -> None:
    ok("catalog", "import", str(tiny_spec))
    ok("train", "-m", "popularity", "--no-index")
    (tiny_spec.parent / "ratings.csv").write_text(RATINGS + "3,1,5.0,964990000\n")
    ok("catalog", "import", str(tiny_spec))
    r = runner.invoke(app, ["recommend", "--user", "1", "-m", "popularity"])
    assert r.exit_code == 2 and "trained on catalog tiny@" in r.output


def test_help_is_fast_and_light() -> None:
    code = ("import sys, ui.cli; heavy = {'torch', 'faiss', 'implicit', 'sentence_transformers',"
            " 'sqlmodel'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_corrupt_cached_mf_index_is_rebuilt(tiny_spec: Path) -> None:
    from recsys.settings import get_settings

    ok("catalog", "import", str(tiny_spec))
    ok("train", "-m", "als", "-m", "popularity", "--no-index")
    before = ok("recommend", "--user", "1", "-m", "als", "--json")
    (cache,) = (get_settings().indexes_dir / "tiny").glob("mf-als-*.faiss")
    cache.write_bytes(b"not a faiss index")
    assert ok("recommend", "--user", "1", "-m", "als", "--json") == before
    assert cache.read_bytes() != b"not a faiss index"
