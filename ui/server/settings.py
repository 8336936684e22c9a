"""Web server configuration (environment prefix ``TASTEBUD_SERVER_``).

Kept beside the main ``Settings`` the way ``LLMSettings`` is: the server's knobs only matter to
``tastebud serve`` and the app factory, and tests pass their own instance.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseSettings):
    """Limits and timeouts of the web app, with defaults for one person on one machine."""

    model_config = SettingsConfigDict(env_prefix="TASTEBUD_SERVER_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address to listen on (loopback only).")
    port: int = Field(default=8000, ge=1, le=65535)
    max_ws_message: int = Field(default=4096, ge=256,
                                description="Largest WebSocket frame accepted, in bytes.")
    hello_timeout_s: float = Field(default=30.0, gt=0,
                                   description="Seconds a new socket has to say hello.")
    turn_timeout_s: float = Field(default=180.0, gt=0,
                                  description="Seconds one chat turn may take before the user "
                                              "gets an error event.")
    turn_slots: int = Field(default=1, ge=1, le=64,
                            description="Turns run at once; one local model generates one "
                                        "reply at a time, so 1 unless the LLM is a server.")
    list_size: int = Field(default=5, ge=1, le=20, description="Items per recommendation.")
