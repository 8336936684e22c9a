"""The ``tastebud`` command line. Heavy imports live inside commands so --help stays fast."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

app = typer.Typer(help="Tastebud: a personalized conversational recommender.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
data_app = typer.Typer(help="Datasets: fetch known datasets from a mirror or their origin.",
                       no_args_is_help=True)
catalog_app = typer.Typer(help="Catalogs: import from a spec, list, inspect.",
                          no_args_is_help=True)
index_app = typer.Typer(help="Indexes: item text embeddings and vector search.",
                        no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(catalog_app, name="catalog")
app.add_typer(index_app, name="index")


def _register_subcommands() -> None:
    from ui.cli_evaluate import evaluate_app, simulate

    app.add_typer(evaluate_app, name="evaluate",
                  help="Offline evaluation of dialogue policies against simulated users.")
    app.command("simulate")(simulate)
    from ui.cli_chat import chat, parse

    app.command("parse")(parse)
    app.command("chat")(chat)
    from ui.cli_serve import serve

    app.command("serve")(serve)


F = TypeVar("F", bound=Callable[..., Any])
CatalogOpt = Annotated[str | None, typer.Option("--catalog", "-c",
                                                help="Catalog name (default: TASTEBUD_CATALOG).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def friendly(fn: F) -> F:
    """Print Tastebud's own errors as one clear message and exit 2, without a traceback."""

    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        from recsys.errors import TastebudError

        try:
            return fn(*args, **kwargs)
        except TastebudError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None

    return run  # type: ignore[return-value]


def _settings():  # type: ignore[no-untyped-def]
    from recsys.settings import get_settings

    return get_settings()


def _items_table(catalog: Any, ids: Any, scores: Any) -> str:
    lines = []
    for rank, (i, s) in enumerate(zip(ids, scores, strict=True), 1):
        attrs = catalog.item_attributes(int(i))
        genre = ", ".join(next(iter(attrs.values()), [])[:4])
        lines.append(f"{rank:>3}. {catalog.titles[int(i)]:<55.55} {genre:<35.35} {s:8.3f}")
    return "\n".join(lines)


def _items_json(catalog: Any, ids: Any, scores: Any) -> list[dict[str, Any]]:
    return [{"id": catalog.item_ids[int(i)], "title": catalog.titles[int(i)],
             "year": catalog.year(int(i)), "attributes": catalog.item_attributes(int(i)),
             "score": round(float(s), 6)} for i, s in zip(ids, scores, strict=True)]


# ---------------------------------------------------------------- data
@data_app.command("list")
def data_list() -> None:
    """List the datasets Tastebud can fetch, and whether each is here."""
    from recsys.datasets import DATASETS, is_fetched

    s = _settings()
    for ds in DATASETS.values():
        state = "fetched" if is_fetched(ds, s) else "-"
        typer.echo(f"{ds.name:<18} {state:<8} {ds.title}  [{ds.terms}]")


@data_app.command("fetch")
@friendly
def data_fetch(name: str, force: Annotated[bool, typer.Option(help="Fetch again.")] = False
               ) -> None:
    """Put dataset NAME in the data dir (mirror first, then its official address; sha256)."""
    from recsys.datasets import fetch

    path = fetch(name, _settings(), force=force)
    typer.echo(f"{name}: verified in {path}")


# ---------------------------------------------------------------- catalog
@catalog_app.command("import")
@friendly
def catalog_import(
    spec: Annotated[Path, typer.Argument(help="Spec file, or the name of a known spec.")],
    name: Annotated[str | None, typer.Option(help="Store under this name instead.")] = None,
) -> None:
    """Validate every row of a catalog and store it in one transaction (idempotent)."""
    from recsys.catalogs import find_spec
    from recsys.importer import import_catalog

    s = _settings()
    path = spec if spec.exists() or spec.suffix else find_spec(str(spec), s)
    r = import_catalog(path, s, name=name)
    typer.echo(f"{r.name}: {r.status} ({r.n_items} items, {r.n_users} users, "
               f"{r.n_interactions} interactions; fingerprint {r.fingerprint})")
    for where, counts in r.skipped.items():  # what the spec chose to leave out, counted
        typer.echo(f"  {where}: " + "; ".join(f"{n:,} {what}" for what, n in counts.items()))


@catalog_app.command("list")
@friendly
def catalog_list() -> None:
    """List imported catalogs and the specs available to import."""
    from recsys.catalogs import known_specs
    from recsys.db import get_engine
    from recsys.store import list_catalogs

    s = _settings()
    stored = {c.name: c for c in list_catalogs(get_engine(s.database_url))}
    for name in sorted(set(stored) | set(known_specs(s))):
        c = stored.get(name)
        state = (f"imported  {c.n_items} items, {c.n_users} users, {c.n_interactions} "
                 "interactions" if c else "not imported")
        typer.echo(f"{name:<20} {state}")


@catalog_app.command("show")
@friendly
def catalog_show(name: Annotated[str, typer.Argument()],
                 item: Annotated[str | None, typer.Option(help="Show one item by id.")] = None
                 ) -> None:
    """Summarise a catalog, or show one item."""
    from recsys.catalogs import open_catalog

    cat = open_catalog(name, _settings())
    if item is not None:
        i = cat.item(item)
        typer.echo(json.dumps({"id": item, "title": cat.titles[i], "year": cat.year(i),
                               "attributes": cat.item_attributes(i), "text": cat.texts[i],
                               "numbers": {k: cat.number(k, i) for k in cat.numbers},
                               "notes": {k: cat.note(k, i) for k in cat.notes}},
                              indent=2, ensure_ascii=False))
        return
    typer.echo(json.dumps({
        "name": cat.name, "title": cat.title, "fingerprint": cat.fingerprint,
        "items": cat.n_items, "users": cat.n_users, "interactions": len(cat.interactions),
        "attributes": {k: len(a.values) for k, a in cat.attributes.items()},
        "fields": {k: cat.info(k).kind for k in [*cat.attributes, *cat.numbers, *cat.notes]},
        "coverage": cat.coverage(),
        "user_attributes": {k: len(a.values) for k, a in cat.user_attributes.items()},
        "splits": (sorted(set(cat.interactions.splits.tolist()))
                   if cat.interactions.splits is not None else None),
        "user_links": {k: len(v) for k, v in cat.user_links.items()}}, indent=2))


# ---------------------------------------------------------------- models
ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model name (see `tastebud train`).")]


@app.command()
@friendly
def train(
    catalog: CatalogOpt = None,
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", help="Model(s) to train; default: all.")] = None,
    index: Annotated[bool, typer.Option(help="Also build the semantic text index.")] = True,
) -> None:
    """Train recommenders on a catalog (fetching and importing the demo catalog if needed)."""
    from recsys.catalogs import open_catalog
    from recsys.models import available
    from recsys.serving import train as train_models

    s = _settings()
    for m in model or []:
        if m not in available():
            from recsys.errors import UnknownNameError

            raise UnknownNameError("model", m, available())
    cat = open_catalog(catalog, s)
    typer.echo(f"catalog {cat.name}: {cat.n_items} items, {cat.n_users} users, "
               f"{len(cat.interactions)} interactions")
    for t in train_models(cat, s, model or None):
        typer.echo(f"trained {t.name:<10} in {t.fit_s:6.1f} s -> {t.path}")
    if not model:
        from recsys.serving import train_dialogues

        if (path := train_dialogues(cat, s)) is not None:
            typer.echo(f"dialogue knowledge -> {path}")
    if index:
        from recsys.index import semantic_index

        sem = semantic_index(cat, s)
        typer.echo(f"semantic index: {len(sem)} items ({sem.encoder.name})")


@app.command()
@friendly
def recommend(
    user: Annotated[str, typer.Option("--user", "-u", help="User id as in the catalog.")],
    catalog: CatalogOpt = None,
    model: ModelOpt = "als",
    n: Annotated[int, typer.Option("-n", min=1, max=1000, help="How many items.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Top-N items for a user of the catalog (items they already rated are left out)."""
    from recsys.catalogs import open_catalog
    from recsys.errors import UnknownUserError
    from recsys.serving import load_recommender

    s = _settings()
    cat = open_catalog(catalog, s)
    u = cat.user(user)
    rec = load_recommender(cat, s, model)
    seen = cat.interactions.items[cat.interactions.users == u]
    note = ""
    try:
        ranked = rec.recommend(u, n, exclude=seen)
    except UnknownUserError:
        # the user has no liked items to personalise from: serve what is popular instead
        rec = load_recommender(cat, s, "popularity")
        ranked = rec.recommend(u, n, exclude=seen)
        note = f"user {user} has no liked items yet; showing popular items"
    if as_json:
        typer.echo(json.dumps({"user": user, "model": rec.name, "note": note or None,
                               "items": _items_json(cat, ranked.ids, ranked.scores)}, indent=2))
        return
    if note:
        typer.echo(note)
    typer.echo(f"{rec.name} recommendations for user {user} ({cat.name}):")
    typer.echo(_items_table(cat, ranked.ids, ranked.scores))


@app.command()
@friendly
def similar(
    item: Annotated[str, typer.Option("--item", "-i", help="Item id as in the catalog.")],
    catalog: CatalogOpt = None,
    model: ModelOpt = "als",
    n: Annotated[int, typer.Option("-n", min=1, max=1000)] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Items similar to one item, by a trained model ("text" for the semantic index)."""
    from recsys.catalogs import open_catalog

    s = _settings()
    cat = open_catalog(catalog, s)
    i = cat.item(item)
    if model == "text":
        from recsys.index import semantic_index

        ranked = semantic_index(cat, s).similar_items(i, n)
    else:
        from recsys.serving import load_recommender

        ranked = load_recommender(cat, s, model).similar_items(i, n)
    if as_json:
        typer.echo(json.dumps(_items_json(cat, ranked.ids, ranked.scores), indent=2))
        return
    typer.echo(f"like {cat.titles[i]} ({model}):")
    typer.echo(_items_table(cat, ranked.ids, ranked.scores))


@app.command()
@friendly
def search(
    text: Annotated[str, typer.Argument(help="What you are looking for, in words.")],
    catalog: CatalogOpt = None,
    n: Annotated[int, typer.Option("-n", min=1, max=1000)] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Semantic search over item texts ("dark space horror with a strong heroine")."""
    from recsys.catalogs import open_catalog
    from recsys.index import semantic_index

    s = _settings()
    cat = open_catalog(catalog, s)
    ranked = semantic_index(cat, s).search(text, n)
    if as_json:
        typer.echo(json.dumps(_items_json(cat, ranked.ids, ranked.scores), indent=2))
        return
    typer.echo(_items_table(cat, ranked.ids, ranked.scores))


@index_app.command("build")
@friendly
def index_build(catalog: CatalogOpt = None) -> None:
    """Build (or reuse, if current) the semantic index of a catalog."""
    from recsys.catalogs import open_catalog
    from recsys.index import semantic_index

    s = _settings()
    cat = open_catalog(catalog, s)
    t0 = time.perf_counter()
    sem = semantic_index(cat, s)
    typer.echo(f"{cat.name}: {len(sem)} items indexed ({sem.encoder.name}, "
               f"{sem.index.kind}) in {time.perf_counter() - t0:.1f} s; cached in {sem.path}")


# Last: the subcommand modules import this module's helpers (CatalogOpt, friendly).
_register_subcommands()
