"""What a card says about an item, in the catalog's own terms (labels and units from its spec)."""

from __future__ import annotations

from recsys.catalog import Catalog

ABOUT_CHARS = 240


def details(catalog: Catalog, item: int) -> list[str]:
    """Short lines a person scans: categorical values, people with their labels ("directed
    by Ridley Scott"), numbers with units ("117 minutes"). Tags and keywords stay off the
    card: raw user tags read as noise ("in netflix queue")."""
    out: list[str] = []
    attrs = catalog.item_attributes(item)
    for name, values in attrs.items():
        info = catalog.info(name)
        if not values or info.kind == "keywords":
            continue
        if info.kind == "people":
            out.append(f"{info.label or name} {', '.join(values[:3])}")
        elif info.label:
            out.append(f"{info.label} {', '.join(values[:3])}")
        else:
            out.append(", ".join(values[:4]))
    for name in catalog.numbers:
        v = catalog.number(name, item)
        if v is not None:
            unit = catalog.info(name).unit
            out.append(f"{v:g} {unit}" if unit else f"{name} {v:g}")
    return out


def about(catalog: Catalog, item: int) -> str | None:
    """The start of the item's free text (overview), cut at a word."""
    text = next((t for t in [catalog.texts[item], *(catalog.note(n, item)
                                                    for n in catalog.notes)] if t), None)
    if not text or len(text) <= ABOUT_CHARS:
        return text
    return text[:ABOUT_CHARS].rsplit(" ", 1)[0] + "…"
