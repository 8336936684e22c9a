"""Web server configuration (environment prefix ``TASTEBUD_SERVER_``): ``Settings.server``."""

from __future__ import annotations

from recsys.settings import ServerSettings

__all__ = ["ServerSettings"]
