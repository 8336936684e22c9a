"""The one configuration object of Tastebud (environment prefix ``TASTEBUD_``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tastebud"


class Settings(BaseSettings):
    """Everything configurable, with defaults that run offline on one machine."""

    model_config = SettingsConfigDict(env_prefix="TASTEBUD_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir,
                           description="Fetched datasets, the SQLite database, models, indexes.")
    db_url: str | None = Field(default=None,
                               description="SQLAlchemy URL; default: SQLite file in data_dir.")
    mirror: Path | None = Field(default=None,
                                description="Directory holding dataset copies (checked first).")
    catalog: str = Field(default="movielens-small", description="Default catalog name.")
    catalogs_dir: Path | None = Field(default=None,
                                      description="Extra directory of catalog spec files.")
    embedding_model: str = Field(default="all-MiniLM-L6-v2",
                                 description="Embedding model name or a local model directory.")
    download_timeout_s: float = 60.0

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'tastebud.db'}"

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
