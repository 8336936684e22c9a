"""The PostgreSQL test server: found where distributions put it; never skipped in CI."""

from __future__ import annotations

import shutil

import pytest

from tests.profiles import pgserver


@pytest.fixture
def no_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(pgserver, "_SEARCH", ())


def test_missing_postgres_skips_outside_ci(no_postgres: None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install postgresql"):
        pgserver.require_bin_dir()


def test_missing_postgres_fails_in_ci(no_postgres: None,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run them"):
        pgserver.require_bin_dir()
