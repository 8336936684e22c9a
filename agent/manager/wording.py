"""The words of a recommend turn: an opening that says back what was asked, an honest word on
what had to give, one line per item on why it fits, and a question when the choice is wide.

Everything here is built from the conversation and the catalog, so it is true as written; an
LLM may reword the opening (see ``reply``), never the facts.
"""

from __future__ import annotations

from typing import Any

from agent.manager import reasons
from agent.manager.conversation import Constraints, Conversation
from recsys.catalog import Catalog
from recsys.titles import short_title

WIDE = 40  # more matches than this and a question helps the person choose
AUDIENCE = {"child": "for kids"}


def _years(c: Constraints) -> str:
    lo, hi = c.year_min, c.year_max
    if lo and hi:
        if hi - lo == 9 and lo % 10 == 0:
            return f"from the {str(lo)[2:]}s" if lo < 2000 else f"from the {lo}s"
        return f"from {lo}" if lo == hi else f"from {lo} to {hi}"
    if lo:
        return f"from {lo} on"
    if hi:
        return f"from before {hi + 1}"
    return ""


def _values(catalog: Catalog, c: Constraints, dropped: set[str]
            ) -> tuple[list[str], list[str]]:
    """(words before the noun: "funny sci-fi"; phrases after it: "with Jim Carrey")."""
    before, after = [], []
    for fld, values in c.include.items():
        values = [v for v in values if v not in dropped]
        if not values:
            continue
        info = catalog.info(fld)
        if info.kind == "people":
            label = info.label or "with"
            after.append(f"{'directed by' if label.startswith('direct') else 'with'} "
                         f"{' and '.join(values)}")
        elif info.label and info.kind == "categorical" and fld not in ("genre", "genres"):
            after.append(f"{info.label} {', '.join(values)}")
        else:
            before += [reasons.lower_value(v) for v in values]
    return list(dict.fromkeys(before)), after


def request_phrase(catalog: Catalog, c: Constraints, dropped: tuple[str, ...] = ()) -> str:
    """ "funny sci-fi movies from the 90s for kids like Toy Story, no horror"; what the
    search had to let go of (``dropped``: values, "the years", "the length") is left out."""
    before, after = _values(catalog, c, set(dropped))
    noun = catalog.words.items if catalog.words.items != "items" else "picks"
    head = " ".join([*before, noun])
    bits = [head + _wish(c, " ".join(before + after)), *after]
    if (y := _years(c)) and "the years" not in dropped:
        bits.append(y)
    if c.audience:
        bits.append(AUDIENCE.get(c.audience, f"for {c.audience}"))
    for fld, (lo, hi) in ({} if "the length" in dropped else c.ranges).items():
        unit = catalog.info(fld).unit or ""
        if lo is None and hi is not None:
            bits.append(f"under {hi + 1:g} {unit}".rstrip())
        elif hi is None and lo is not None:
            bits.append(f"over {lo - 1:g} {unit}".rstrip())
    if c.seeds:
        names = [short_title(catalog.titles[catalog.item_index[s]]) for s in c.seeds[:2]
                 if s in catalog.item_index]
        if names:
            bits.append("like " + " and ".join(names))
    if c.unlike:
        names = [short_title(catalog.titles[catalog.item_index[s]]) for s in c.unlike[:2]
                 if s in catalog.item_index]
        if names:
            bits.append("unlike " + " and ".join(names))
    no = [reasons.lower_value(v) for vs in c.exclude.values() for v in vs]
    less = [reasons.lower_value(v) for vs in c.less.values() for v in vs]
    tail = []
    if no:
        tail.append("no " + " or ".join(no))
    if less:
        tail.append("less " + " and ".join(less))
    text = " ".join(bits)
    return text + (", " + ", ".join(tail) if tail else "")


def opening(out: Any, conv: Conversation, catalog: Catalog) -> str:
    c = conv.constraints
    plain = c.empty or (not c.include and not c.seeds and not c.year_min and not c.year_max
                        and not c.audience and not c.ranges and not c.exclude and not c.less)
    if plain and not c.free_text:
        return ("Here are a few, picked for your taste." if out.personalised
                else "Here are a few people love; tell me more and I'll tailor them.")
    what = request_phrase(catalog, c, tuple(out.relaxed))
    taste = ", picked for your taste" if out.personalised else ""
    return f"Here are {what}{taste}."


def _wish(c: Constraints, said: str) -> str:
    """The free-text part of a request the phrase does not already say ("about music")."""
    import re

    text = (c.free_text or "").strip()
    if not text:
        return ""
    left = [w for w in re.findall(r"[\w'-]+", text.casefold()) if w not in said.casefold()]
    if not left:
        return ""
    from agent.manager.planner import mood_of

    if mood_of(text) is not None:  # "comedy movies that are darker"
        return f" that are {text}"
    if not said.strip():  # the wish is the whole request
        return f" for “{text}”"
    # "documentaries about music"; a long wish beside conditions is said by the items' lines
    return f" about {text}" if len(text.split()) <= 3 and not c.seeds else ""



def relaxed_note(out: Any, conv: Conversation) -> str:
    if not out.relaxed:
        return ""
    dropped = [reasons.lower_value(r) for r in out.relaxed]
    who = f" {AUDIENCE.get(conv.constraints.audience or '', '')}".rstrip() \
        if conv.constraints.audience else ""
    return (f"Nothing fit everything you asked{who}, so these let go of "
            f"{' and '.join(dropped)}.")


def question(out: Any, conv: Conversation, catalog: Catalog) -> str:
    """A question that narrows a wide choice, or "" when the list is already specific."""
    from agent.nlu import lexicon_for

    wide = out.matches is None or out.matches > WIDE
    if not wide or out.action != "recommend" or len(conv.history) > 10:
        return ""
    one = f"a {catalog.words.item}" if catalog.words.item != "item" else "something"
    c = conv.constraints
    asked = " ".join(h["text"] for h in conv.history if h["role"] == "assistant")
    if not c.seeds and not conv.liked and not out.personalised:
        q = f"Is there {one} you loved lately? Name it and I'll find more like it."
    elif not (c.year_min or c.year_max) and lexicon_for(catalog).has_years:
        q = "Any decade you'd like, or is any fine?"
    else:
        return ""
    return "" if q in asked else q  # asked once is enough: the person heard it


def recommend_text(out: Any, conv: Conversation, catalog: Catalog) -> str:
    """Opening, what had to give, then one line per item."""
    liked = [catalog.item_index[i] for i in conv.liked if i in catalog.item_index]
    head = " ".join(p for p in (relaxed_note(out, conv), opening(out, conv, catalog)) if p)
    body = reasons.lines(catalog, out.items, conv.constraints, liked, out.personalised)
    ask = question(out, conv, catalog)
    return "\n".join([head, *body, *([ask] if ask else [])])


def example_request(catalog: Catalog) -> str:
    """A request this catalog can answer, from its own data ("some comedy from the 90s";
    "some rock" on a music catalog): never a movie example on a catalog of artists."""
    import numpy as np

    from agent.nlu import lexicon_for

    lex = lexicon_for(catalog)
    fld = lex.genre_field or next(iter(catalog.attributes), None)
    value = ""
    if fld is not None:
        attr = catalog.attributes[fld]
        counts = np.asarray((attr.matrix > 0).sum(axis=0)).ravel()
        if len(counts):
            value = reasons.lower_value(attr.values[int(np.argmax(counts))])
    words = catalog.words.items if catalog.words.items != "items" else ""
    text = f"some {value} {words}".strip() if value else f"something {words}".strip()
    years = catalog.years[catalog.years > 0]
    if lex.has_years and len(years):
        decade = int(np.median(years)) // 10 * 10
        text += f" from the {str(decade)[2:]}s" if decade < 2000 else f" from the {decade}s"
    return text
