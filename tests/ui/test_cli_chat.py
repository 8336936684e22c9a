"""``tastebud parse`` prints the request contract; ``tastebud chat`` holds a conversation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recsys.settings import get_settings
from tests.recsys.catalog_files import write_tiny
from ui.cli import app

runner = CliRunner()


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASTEBUD_EMBEDDING_MODEL", "hashing-64")
    monkeypatch.setenv("TASTEBUD_CATALOG", "tiny")
    get_settings.cache_clear()
    spec = write_tiny(tmp_path / "files")
    r = runner.invoke(app, ["catalog", "import", str(spec)])
    assert r.exit_code == 0, r.output


def test_parse_prints_the_contract(tiny: None) -> None:
    r = runner.invoke(app, ["parse", "--model", "fake",
                            "some sci fi from the 90s, no horror, like Alien"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    assert got == {"kind": "recommend", "include": {"genre": ["Sci-Fi"]},
                   "exclude": {"genre": ["Horror"]}, "year_min": 1990, "year_max": 1999,
                   "titles": ["Alien (1979)"], "refs": [], "feedback": {}, "free_text": None}


def test_parse_bad_mode_is_one_clear_line(tiny: None) -> None:
    r = runner.invoke(app, ["parse", "--mode", "magic", "hi"])
    assert r.exit_code == 2 and "unknown mode 'magic'" in r.output


def test_chat_new_user_from_first_run(tiny: None) -> None:
    """Models are trained on first use; a new user asks, refines, asks why, and quits."""
    said = "an adventure film\nno horror\nwhy number 1?\nwho directed Alien?\nquit\n"
    r = runner.invoke(app, ["chat", "--model", "fake", "--trace"], input=said)
    assert r.exit_code == 0, r.output
    out = r.output
    assert "a new user" in out and "no LLM" in out
    assert "filter_items" in out and "rank_items" in out and "[1] " in out
    assert "(explain, reply by template" in out  # "why number 1?" was answered
    assert "doesn't record the director" in out


def test_chat_unknown_user_is_a_clear_error(tiny: None) -> None:
    r = runner.invoke(app, ["chat", "--model", "fake", "--user", "999"], input="quit\n")
    assert r.exit_code == 2 and "user '999' is not in catalog 'tiny'" in r.output
