"""What a card says about an item, in the catalog's own terms (labels and units from its spec)."""

from __future__ import annotations

import re

import numpy as np

from recsys.catalog import Catalog

ABOUT_CHARS = 240


def details(catalog: Catalog, item: int) -> list[str]:
    """Short lines a person scans: categorical values, people with their labels ("directed
    by Ridley Scott"), numbers with units ("117 minutes"), then the few keywords that say
    most (``telling``: raw user tags such as "in netflix queue" never show)."""
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
    known = telling(catalog, item)
    tail = [f"known for {', '.join(known)}"] if known else []
    return [*kinds["plain"], *kinds["number"], *kinds["labelled"], *kinds["people"], *tail]


def about(catalog: Catalog, item: int) -> str | None:
    """The start of the item's free text (overview), cut at a word."""
    text = next((t for t in [catalog.texts[item], *(catalog.note(n, item)
                                                    for n in catalog.notes)] if t), None)
    if not text or len(text) <= ABOUT_CHARS:
        return text
    return text[:ABOUT_CHARS].rsplit(" ", 1)[0] + "…"


# tags that say something about the tagger, not the item ("in netflix queue", "seen it")
_JUNK = re.compile(
    r"netflix|queue|\bdvd|blu-?ray|\bowned?\b|own it|\bseen\b|watched|to see|want to see|"
    r"tivo|library|imdb top|afi \d|bechdel|\bmy\b|favou?rite|boring|overrated|underrated|"
    r"stupid|awful|\bcrap|\bbad\b|\bwtf\b|mindfuck|fuck|\bshit|\bsucks?\b|worst|"
    r"book was better|\bbetter than\b|\bmust see\b|\bshould see\b|"
    r"^\W*$|^tag:?$|:\s*$|^\d+$|^r:|^(original|good|great|excellent|visual|pg-13|pg|r|g)$",
    re.I)


# content warnings: true, and a person may ask to leave them out ("no nudity"), but never
# what a film is "known for" on its card or in a reason line
_WARNING = re.compile(r"nudity|\bnude\b|\bsex\b|sexual|topless|\brape\b|incest", re.I)


def clean_tag(value: str) -> bool:
    """A tag a stranger can read: not about the tagger's own list, not an insult, not empty."""
    v = value.strip()
    return 3 <= len(v) <= 40 and not _JUNK.search(v)


def telling(catalog: Catalog, item: int, k: int = 4) -> list[str]:
    """The few keywords that say most about an item, cleanest sources first.

    Labelled keyword fields (curated ones such as genome tags, "known for") come before
    unlabelled ones, and people's free tags come last and only with support from at least
    two taggers where the catalog counts taggers (one person's "grunge" on Madonna is noise).
    """
    fields = sorted(catalog.fields_of_kind("keywords"),
                    key=lambda f: (catalog.info(f).label is None, _counted(catalog, f), f))
    genres = {v.casefold() for f in catalog.fields_of_kind("categorical")
              if f in catalog.attributes for v in catalog.attributes[f].of(item)}
    out: list[str] = []
    seen: set[str] = genres | {re.sub(r"[\s_-]+", "", g) for g in genres}
    for f in fields:
        attr = catalog.attributes.get(f)
        if attr is None:
            continue
        row = attr.matrix.getrow(item)
        need = 2.0 if _counted(catalog, f) else 0.0
        order = np.lexsort((row.indices, -row.data))
        for j in order:
            if row.data[j] < need:
                continue
            v = attr.values[row.indices[j]]
            key = re.sub(r"[\s_-]+", "", v.casefold())  # "sci fi", "sci-fi", "scifi"
            if key in seen or v.casefold() in seen or not clean_tag(v) or _WARNING.search(v):
                continue
            # "pixar" beside "pixar animation": one of them says it
            low = f" {v.casefold()} "
            if any(f" {w.casefold()} " in low or low in f" {w.casefold()} " for w in out):
                continue
            seen.add(key)
            out.append(v)
            if len(out) >= k:
                return out
    return out


def _counted(catalog: Catalog, fld: str) -> bool:
    """Whether a field's weights count people (a tag given by 3 users weighs 3)."""
    cache = catalog.__dict__.setdefault("_counted_fields", {})
    if fld not in cache:
        data = catalog.attributes[fld].matrix.data if fld in catalog.attributes else []
        cache[fld] = bool(len(data)) and float(np.max(data)) > 1.0 and \
            bool(np.all(np.equal(np.mod(data, 1), 0)))
    return cache[fld]
