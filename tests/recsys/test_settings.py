"""One Settings object: storage knobs plus the LLM and server groups, all from TASTEBUD_*."""

from __future__ import annotations

import pytest

from recsys.settings import Settings


def test_groups_read_their_own_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASTEBUD_CATALOG", "lastfm-star")
    monkeypatch.setenv("TASTEBUD_LLM_BACKEND", "openai")
    monkeypatch.setenv("TASTEBUD_LLM_MODEL", "served-model")
    monkeypatch.setenv("TASTEBUD_SERVER_PORT", "9123")
    s = Settings()
    assert s.catalog == "lastfm-star"
    assert (s.llm.backend, s.llm.model) == ("openai", "served-model")
    assert s.server.port == 9123 and s.server.host == "127.0.0.1"


def test_a_bad_value_says_which_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("TASTEBUD_SERVER_PORT", "99999")
    with pytest.raises(ValidationError, match="port"):
        Settings()
