"""``tastebud parse`` (the understanding of one message, as JSON) and ``tastebud chat``."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ui.cli import CatalogOpt, _settings, friendly

ModelOpt = Annotated[str | None, typer.Option(
    "--model", "-m", help="LLM: a registered local model, a GGUF path, or 'fake' for none "
                          "(default: TASTEBUD_LLM_MODEL).")]


def _chat_model(model: str | None):  # type: ignore[no-untyped-def]
    """The configured chat model, or None for 'fake'/'none' (rules and templates only)."""
    from agent.llm import get_chat_model, get_llm_settings

    s = get_llm_settings()
    if model in ("fake", "none") or (model is None and s.backend == "fake"):
        return None
    if model is not None:
        s = s.model_copy(update={"model": model})
    return get_chat_model(s)


@friendly
def parse(
    text: Annotated[str, typer.Argument(help="One user message.")],
    catalog: CatalogOpt = None,
    mode: Annotated[str, typer.Option(
        help="hybrid (what chat uses: rules, the LLM fills gaps), rules, or llm.")] = "hybrid",
    model: ModelOpt = None,
) -> None:
    """Print the structured request understood from TEXT, as JSON."""
    from agent.nlu import lexicon_for, llm_extract, understand
    from recsys.catalogs import open_catalog
    from recsys.errors import TastebudError

    if mode not in ("rules", "llm", "hybrid"):
        raise TastebudError(f"unknown mode '{mode}'; use rules, llm or hybrid")
    lex = lexicon_for(open_catalog(catalog, _settings()))
    llm = _chat_model(model) if mode != "rules" else None
    if mode == "llm" and llm is None:
        raise TastebudError("--mode llm needs a model; drop --model fake or use --mode rules")
    req = llm_extract(text, lex, llm) if mode == "llm" and llm else understand(text, lex, llm=llm)
    typer.echo(json.dumps(req.to_json(), ensure_ascii=False))


@friendly
def chat(
    catalog: CatalogOpt = None,
    user: Annotated[str | None, typer.Option(
        "--user", "-u", help="A user id of the catalog; leave out to chat as a new user.")
    ] = None,
    model: ModelOpt = None,
    trace: Annotated[bool, typer.Option("--trace", help="Show each tool call.")] = False,
) -> None:
    """Chat in the terminal: type what you'd like; 'quit' (or Ctrl-D) ends."""
    from agent.manager import Manager

    llm = _chat_model(model)
    typer.echo("Loading the catalog, models and indexes (first run trains them)...", err=True)
    manager = Manager.open(catalog, _settings(), llm=llm).warm()
    conv = manager.start(user)
    who = f"user {user}" if user else "a new user"
    typer.echo(f"Tastebud · {manager.catalog.title or manager.catalog.name} · {who} · "
               f"{'model ' + llm.name if llm else 'no LLM (template replies)'}")
    from agent.manager.wording import example_request

    typer.echo(f"Ask for something ('{example_request(manager.catalog)}'), then 'why number "
               "2?', 'loved the first one', 'not number 3'. 'quit' ends.\n")
    while True:
        try:
            text = input("you> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            break
        if text.strip().lower() in ("quit", "exit", "bye", ":q"):
            break
        if not text.strip():
            continue
        _print_turn(manager, conv, text, trace)


def _print_turn(manager, conv, text: str, trace: bool) -> None:  # type: ignore[no-untyped-def]
    started = False
    for ev in manager.turn(conv, text):
        d = ev.data
        if ev.type == "tool" and trace:
            err = f"  ERROR {d['error']}" if d.get("error") else ""
            size = "all" if d["bus_size"] is None else d["bus_size"]
            typer.secho(f"  · {d['tool']}({json.dumps(d['args'], ensure_ascii=False)}) "
                        f"-> {d['size']} items, bus {size}, {d['ms']:.1f} ms{err}",
                        fg="bright_black")
        elif ev.type == "text":
            if not started:
                sys.stdout.write("tastebud> ")
                started = True
            sys.stdout.write(d["delta"])
            sys.stdout.flush()
        elif ev.type == "items":
            typer.echo("")
            for c in d["items"]:
                attrs = " · ".join(c.get("details") or [
                    ", ".join(v[:3]) for v in c["attributes"].values() if v])
                year = f" ({c['year']})" if c.get("year") and str(c["year"]) not in c["title"] \
                    else ""
                typer.echo(f"  [{c['position']}] {c['title']}{year}")
                if attrs:
                    typer.secho(f"      {attrs}", fg="bright_black")
        elif ev.type == "error":
            typer.secho(f"error: {d['message']}", fg="red", err=True)
        elif ev.type == "done":
            typer.echo("")
            if trace:
                typer.secho(f"  ({d['action']}, reply by {d['reply_source']}, "
                            f"{d['ms']:.0f} ms, tools {d['tools_ms']:.1f} ms)",
                            fg="bright_black")
            typer.echo("")
