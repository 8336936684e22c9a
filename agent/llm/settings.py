"""LLM configuration (environment prefix ``TASTEBUD_LLM_``): ``Settings.llm``'s class."""

from __future__ import annotations

from functools import lru_cache

from recsys.settings import LLMSettings

__all__ = ["LLMSettings", "get_llm_settings"]


@lru_cache(maxsize=1)
def get_llm_settings() -> LLMSettings:
    """The process-wide LLM settings (tests call ``get_llm_settings.cache_clear()``)."""
    return LLMSettings()
