"""The app factory: REST routers, the chat socket, error mapping and the static page."""

from __future__ import annotations

import logging
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse

from recsys.errors import TastebudError
from ui.server.limits import BodyLimit, Limits, RateLimited
from ui.server.managers import ManagerFactory, ManagerPool, TurnGate
from ui.server.security import Guard
from ui.server.settings import ServerSettings
from ui.server.validation import invalid_request

if TYPE_CHECKING:
    from profiles.store import ProfileStore
    from recsys.settings import Settings

log = logging.getLogger(__name__)


def default_manager_factory(settings: Settings, llm: Any = None, list_size: int = 5
                            ) -> ManagerFactory:
    """Managers over stored catalogs (trained on first use) with the configured LLM."""

    def make(catalog: str) -> Any:
        from agent.llm import get_chat_model
        from agent.manager import Manager

        return Manager.open(catalog, settings, llm=llm if llm is not None else get_chat_model(),
                            list_size=list_size)

    return make


def _status(e: TastebudError) -> tuple[int, str]:
    """HTTP status for one of our errors; another user's record reads as not found."""
    from agent.llm import LLMError
    from agent.manager import EmptyMessageError
    from profiles.errors import (
        AuthenticationError,
        ForbiddenError,
        InvalidInputError,
        NotFoundError,
    )
    from recsys.errors import (
        CatalogNotFoundError,
        UnknownItemError,
        UnknownNameError,
        UnknownUserError,
    )

    if isinstance(e, AuthenticationError):
        return 401, str(e)
    if isinstance(e, ForbiddenError):  # never say that it exists
        return 404, f"no {e.kind} with id {e.ident} among yours; list yours first"
    if isinstance(e, NotFoundError | UnknownItemError | UnknownNameError | UnknownUserError
                  | CatalogNotFoundError):
        return 404, str(e)
    if isinstance(e, InvalidInputError | EmptyMessageError):
        return 422, str(e)
    if isinstance(e, LLMError):
        return 503, f"the language model failed ({e}); try again"
    return 400, str(e)


def create_app(settings: Settings | None = None, *, manager_factory: ManagerFactory | None = None,
               store: ProfileStore | None = None, server: ServerSettings | None = None
               ) -> FastAPI:
    """The Tastebud web app.

    Args:
        settings: the main settings (default: ``get_settings()``).
        manager_factory: catalog name -> ``Manager`` (default: ``Manager.open`` with the
            configured LLM); tests pass one over a tiny catalog with a scripted model.
        store: the profile store (default: the configured database, migrated to head).
        server: web server limits (default: ``ServerSettings()`` from TASTEBUD_SERVER_*).
    """
    from profiles.db import open_store
    from recsys.settings import get_settings
    from ui.server import chat
    from ui.server.routes import catalogs, profile, sessions, simulations, users
    from ui.server.schemas import Health
    from ui.server.services import Services

    settings = settings or get_settings()
    server = server or ServerSettings()
    store = store or open_store(settings)
    factory = manager_factory or default_manager_factory(settings, list_size=server.list_size)
    app = FastAPI(title="Tastebud", version="0.1.0",
                  description="A personalized conversational recommender: REST for users, "
                              "catalogs, sessions, feedback and profiles; chat over the "
                              "WebSocket `/ws/chat` (see the page's `app.js` for the protocol).",
                  # Swagger UI comes from a CDN: off unless asked for (TASTEBUD_SERVER_API_DOCS)
                  docs_url="/docs" if server.api_docs else None, redoc_url=None)
    store.token_idle_days = server.token_idle_days
    app.state.services = Services(settings=settings, server=server, store=store,
                                  pool=ManagerPool(factory), gate=TurnGate(server.turn_slots),
                                  limits=Limits.of(server))
    # outermost first: refuse a foreign Host or Origin, then an oversized body, then route
    app.add_middleware(BodyLimit, limit=server.max_body_bytes)
    app.add_middleware(Guard, allowed_hosts=server.allowed_hosts)

    app.add_exception_handler(RequestValidationError, invalid_request)

    @app.exception_handler(RateLimited)
    async def _rate_limited(request: Request, e: RateLimited) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=429,
                            headers={"Retry-After": str(int(e.retry_after + 0.999))})

    @app.exception_handler(TastebudError)
    async def _tastebud_error(request: Request, e: TastebudError) -> JSONResponse:
        code, message = _status(e)
        headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
        return JSONResponse({"detail": message}, status_code=code, headers=headers)

    @app.get("/health", response_model=Health, tags=["health"])
    def health() -> Health:
        """Liveness: the server answers; which catalogs are loaded; turns waiting."""
        svc: Services = app.state.services
        return Health(status="ok", catalogs_loaded=svc.pool.loaded(),
                      turns_waiting=svc.gate.waiting)

    for r in (users.router, catalogs.router, sessions.router, profile.router,
              simulations.router, chat.router):
        app.include_router(r)
    _mount_static(app)
    return app


def _mount_static(app: FastAPI) -> None:
    from fastapi.staticfiles import StaticFiles

    static = files("ui") / "static"

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(static / "index.html"))

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
