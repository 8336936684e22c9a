"""What a card says about an item, in the catalog's own terms (labels and units from its spec)."""

from __future__ import annotations

from recsys.catalog import Catalog

ABOUT_CHARS = 240


def details(catalog: Catalog, item: int) -> list[str]:
    """Short lines a person scans: categorical values, people with their labels ("directed
    by Ridley Scott"), numbers with units ("117 minutes"). Tags and keywords stay off the
    card: raw user tags read as noise ("in netflix queue")."""
    attrs = {n: v for n, v in catalog.item_attributes(item).items()
             if v and catalog.info(n).kind != "keywords"}
    kinds: dict[str, list[str]] = {"plain": [], "number": [], "labelled": [], "people": []}
    for name, values in attrs.items():
        info = catalog.info(name)
        if info.kind == "people":
            kinds["people"].append(f"{info.label or name} {', '.join(values[:3])}")
        elif info.label:
            kinds["labelled"].append(f"{info.label} {', '.join(values[:3])}")
        else:
            kinds["plain"].append(", ".join(values[:4]))
    for name in catalog.numbers:
        v = catalog.number(name, item)
        if v is not None:
            unit = catalog.info(name).unit
            kinds["number"].append(f"{v:g} {unit}" if unit else f"{name} {v:g}")
    # what it is, how long, rated, then who made it (the director before the cast)
    kinds["people"].sort(key=lambda line: not line.startswith("direct"))
    return [*kinds["plain"], *kinds["number"], *kinds["labelled"], *kinds["people"]]


def about(catalog: Catalog, item: int) -> str | None:
    """The start of the item's free text (overview), cut at a word."""
    text = next((t for t in [catalog.texts[item], *(catalog.note(n, item)
                                                    for n in catalog.notes)] if t), None)
    if not text or len(text) <= ABOUT_CHARS:
        return text
    return text[:ABOUT_CHARS].rsplit(" ", 1)[0] + "…"
