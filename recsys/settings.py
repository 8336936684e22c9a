"""The one configuration object of Tastebud (environment prefix ``TASTEBUD_``).

``Settings`` holds the storage and catalog knobs and two groups read the same way:
``settings.llm`` (``TASTEBUD_LLM_*``) and ``settings.server`` (``TASTEBUD_SERVER_*``). The
groups are plain classes here, so the LLM backends and the web app take just their part.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tastebud"


class LLMSettings(BaseSettings):
    """Which LLM backend answers, with defaults that run offline on one machine."""

    model_config = SettingsConfigDict(env_prefix="TASTEBUD_LLM_", extra="ignore",
                                      populate_by_name=True)

    backend: Literal["llamacpp", "transformers", "openai", "fake"] = Field(
        default="llamacpp",
        description="llamacpp: local GGUF in process; transformers: a Hugging Face checkpoint "
                    "directory (or a GGUF) in process; openai: any OpenAI-compatible server; "
                    "fake: scripted replies (tests, demos without a model).")
    model: str = Field(
        default="qwen2.5-coder-0.5b",
        description="llamacpp: a registered model name or a GGUF path; transformers: a "
                    "checkpoint directory, a GGUF path or a registered name; openai: the "
                    "server's model name.")
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
    reply_style: Literal["template", "opening", "full"] = Field(
        default="template",
        description="What the model words: template (nothing: the reply is built from the "
                    "tools' facts), opening (the first sentence of a list; the item lines stay "
                    "the template's), full (the whole reply, two sentences). "
                    "benchmarks/replies.py: the template scores as high as the 0.5B opening "
                    "and beats the whole-reply style, with its first words at once.")


class ServerSettings(BaseSettings):
    """Limits and timeouts of the web app, with defaults for one person on one machine."""

    model_config = SettingsConfigDict(env_prefix="TASTEBUD_SERVER_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address to listen on (loopback only).")
    port: int = Field(default=8000, ge=1, le=65535)
    max_ws_message: int = Field(
        default=16384, ge=256,
        description="Largest WebSocket frame accepted, in bytes: room for a message of the "
                    "longest length (2,000 characters, counted as characters) in any script.")
    max_body_bytes: int = Field(default=1_000_000, ge=1024,
                                description="Largest request body, in bytes (413 beyond).")
    max_sockets_per_user: int = Field(default=8, ge=1,
                                      description="Chat sockets one account may hold open.")
    max_sockets_per_address: int = Field(default=32, ge=1,
                                         description="Chat sockets one client address may "
                                                     "hold open.")
    signups_per_minute: int = Field(default=10, ge=1,
                                    description="Sign-ups per client address per minute.")
    turns_per_minute: int = Field(default=30, ge=1,
                                  description="Chat messages per account per minute.")
    idle_timeout_s: float = Field(default=900.0, gt=0,
                                  description="Seconds a chat socket may stay silent before "
                                              "it is closed (the page reconnects).")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names besides loopback that the server answers to and whose pages "
                    "may use it (a reverse proxy's name); '*' answers to any host.")
    api_docs: bool = Field(default=False,
                           description="Serve the interactive API docs at /docs (they load "
                                       "Swagger UI from a CDN); /openapi.json is always on.")
    token_idle_days: int = Field(default=365, ge=0,
                                 description="A sign-in token unused this many days stops "
                                             "working (0: never).")
    hello_timeout_s: float = Field(default=30.0, gt=0,
                                   description="Seconds a new socket has to say hello.")
    turn_timeout_s: float = Field(default=180.0, gt=0,
                                  description="Seconds one chat turn may take before the user "
                                              "gets an error event.")
    turn_slots: int = Field(default=1, ge=1, le=64,
                            description="Turns run at once; one local model generates one "
                                        "reply at a time, so 1 unless the LLM is a server.")
    list_size: int = Field(default=5, ge=1, le=20, description="Items per recommendation.")


class Settings(BaseSettings):
    """Everything configurable, with defaults that run offline on one machine."""

    model_config = SettingsConfigDict(env_prefix="TASTEBUD_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir,
                           description="Fetched datasets, the SQLite database, models, indexes.")
    db_url: str | None = Field(default=None,
                               description="SQLAlchemy URL of the catalogs; default: SQLite "
                                           "file tastebud.db in data_dir.")
    profiles_db_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of users, chats and feedback; default: the SQLite file "
                    "profiles.db in data_dir (its own file, so a catalog import never locks "
                    "out a user's write), or db_url when that is a server such as PostgreSQL.")
    mirror: Path | None = Field(default=None,
                                description="Directory holding dataset copies (checked first).")
    catalog: str = Field(default="movielens-small", description="Default catalog name.")
    catalogs_dir: Path | None = Field(default=None,
                                      description="Extra directory of catalog spec files.")
    embedding_model: str = Field(default="all-MiniLM-L6-v2",
                                 description="Embedding model name or a local model directory.")
    download_timeout_s: float = 60.0
    profile_infer: Literal["rules", "llm"] = Field(
        default="rules",
        description="How a preference is read from a list edit: 'rules' (the values the "
                    "removed items share and the kept ones lack) or 'llm' (the chat model's "
                    "reading, checked against the items; seconds per edit on a CPU). "
                    "Measured side by side by benchmarks/edit_cost.py --llm.")
    profile_aggregate: Literal["merge", "llm"] = Field(
        default="merge",
        description="How the preferences recalled for a request become one: 'merge' "
                    "(deduplicate, newest wins on a conflict) or 'llm' (the chat model "
                    "reconciles them, checked to invent nothing; the merge answers when its "
                    "reply is unusable). Measured by benchmarks/edit_cost.py --llm-aggregate.")
    llm: LLMSettings = Field(default_factory=LLMSettings,
                             description="The LLM backend (TASTEBUD_LLM_*).")
    server: ServerSettings = Field(default_factory=ServerSettings,
                                   description="The web app's limits (TASTEBUD_SERVER_*).")

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'tastebud.db'}"

    @property
    def profiles_url(self) -> str:
        """Where users, sessions and feedback live (see ``profiles_db_url``)."""
        if self.profiles_db_url:
            return self.profiles_db_url
        if self.db_url and not self.db_url.startswith("sqlite"):
            return self.db_url  # a server's row locks keep an import and a like apart
        return f"sqlite:///{self.data_dir / 'profiles.db'}"

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def indexes_dir(self) -> Path:
        return self.data_dir / "indexes"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()``)."""
    return Settings()
