"""The web app: REST for users, catalogs, items, sessions, feedback and profiles; chat over a
WebSocket; the static page at ``/``. Build it with ``create_app``."""

from ui.server.app import create_app

__all__ = ["create_app"]
