"""``tastebud serve``: prepare what is missing (data, import, training, index, model), then run
the web app and print its URL."""

from __future__ import annotations

import socket
from typing import Annotated, Any

import typer

from ui.cli import CatalogOpt, _settings, friendly

LLMOpt = Annotated[str | None, typer.Option(
    "--llm", help="fake (or none): no model, template replies; llamacpp or openai: that "
                  "backend; anything else: a local model name or GGUF path "
                  "(default: TASTEBUD_LLM_BACKEND / TASTEBUD_LLM_MODEL).")]


def chat_model(llm: str | None) -> Any:
    """The chat model ``--llm`` names; None means replies from templates only."""
    from agent.llm import get_chat_model, get_llm_settings

    s = get_llm_settings()
    if llm in ("fake", "none") or (llm is None and s.backend == "fake"):
        return None
    if llm in ("llamacpp", "openai"):
        s = s.model_copy(update={"backend": llm})
    elif llm is not None:
        s = s.model_copy(update={"backend": "llamacpp", "model": llm})
    return get_chat_model(s)


def _check_port(host: str, port: int) -> None:
    from recsys.errors import TastebudError

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as e:
            raise TastebudError(f"cannot listen on {host}:{port} ({e.strerror}); another "
                                "program uses it: pass --port with a free one") from None


@friendly
def serve(
    catalog: CatalogOpt = None,
    host: Annotated[str | None, typer.Option(
        help="Address to listen on (default: TASTEBUD_SERVER_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(
        min=1, max=65535, help="Port to listen on (default: TASTEBUD_SERVER_PORT, 8000).")
    ] = None,
    llm: LLMOpt = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Run the web app: chat, item cards, sessions. First run fetches, imports and trains."""
    import uvicorn

    from agent.manager import Manager
    from ui.server import create_app
    settings = _settings()
    # options win over TASTEBUD_SERVER_*; without a local model turns are light, so a few
    # may run at once unless TASTEBUD_SERVER_TURN_SLOTS says otherwise
    update: dict[str, Any] = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    host, port = update.get("host", settings.server.host), update.get("port", settings.server.port)
    _check_port(host, port)
    model = chat_model(llm)
    if model is not None and hasattr(model, "load"):
        typer.echo(f"Loading the language model {model.name} (checked by sha256)...")
        model.load()
    typer.echo("Preparing the catalog, models and indexes (the first run fetches, imports "
               "and trains them; a few minutes)...")
    if model is None and "turn_slots" not in settings.server.model_fields_set:
        update["turn_slots"] = 4
    server = settings.server.model_copy(update=update)
    first = Manager.open(catalog, settings, llm=model, progress=True,
                         list_size=server.list_size).warm()  # not in the first user's turn

    def managers(name: str) -> Manager:
        if name == first.catalog.name:
            return first
        return Manager.open(name, settings, llm=model, progress=False,
                            list_size=server.list_size)

    app = create_app(settings, manager_factory=managers, server=server)
    app.state.services.pool.get(first.catalog.name)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    ready = (f"Tastebud is ready: {url}  ({first.catalog.name}, "
             f"{'model ' + model.name if model is not None else 'no LLM: template replies'};"
             " Ctrl-C stops)")

    class Announcing(uvicorn.Server):
        """Says "ready" once the port is bound and the first request can be served."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                typer.echo(ready)

    Announcing(uvicorn.Config(app, host=host, port=port, log_level=log_level,
                              ws_max_size=server.max_ws_message * 4)).run()
