"""LLM configuration (environment prefix ``TASTEBUD_LLM_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LLMSettings(BaseSettings):
    """Which LLM backend answers, with defaults that run offline on one machine."""

    model_config = SettingsConfigDict(env_prefix="TASTEBUD_LLM_", extra="ignore",
                                      populate_by_name=True)

    backend: Literal["llamacpp", "openai", "fake"] = Field(
        default="llamacpp",
        description="llamacpp: local GGUF in process; openai: any OpenAI-compatible server; "
                    "fake: scripted replies (tests, demos without a model).")
    model: str = Field(
        default="qwen2.5-coder-0.5b",
        description="llamacpp: a registered model name or a GGUF path; openai: the server's "
                    "model name.")
    base_url: str = Field(default="http://127.0.0.1:8080/v1",
                          description="OpenAI-compatible endpoint (ending in /v1).")
    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TASTEBUD_LLM_API_KEY", "OPENAI_API_KEY"),
        description="Bearer token for the endpoint; local servers need none.")
    timeout_s: float = Field(default=120.0, gt=0, description="Seconds to wait for one reply.")
    max_retries: int = Field(default=2, ge=0,
                             description="Retries on connection errors, 429 and 5xx.")
    n_ctx: int = Field(default=4096, ge=256, description="llamacpp context window (tokens).")
    n_threads: int | None = Field(default=None, ge=1,
                                  description="llamacpp CPU threads; default os.cpu_count().")
    verbose: bool = Field(default=False, description="llamacpp: llama.cpp's own log on stderr.")


@lru_cache(maxsize=1)
def get_llm_settings() -> LLMSettings:
    """The process-wide LLM settings (tests call ``get_llm_settings.cache_clear()``)."""
    return LLMSettings()
