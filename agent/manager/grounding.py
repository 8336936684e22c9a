"""The reflection step: does a reply name only items, years and values the tools returned?

A reply may mention an item only if a tool returned it this turn, a year only if it is one of
those items' years (or the user's own range), and a genre-like value only if those items have
it or the user asked for it. ``check`` lists what is wrong, in words the model can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.nlu.lexicon import COMMON, Lexicon, normalize, title_forms
from recsys.catalog import Catalog

_EMPHASIS = re.compile(r'"([^"\n]{2,80})"|“([^”\n]{2,80})”|\*\*([^*\n]{2,80})\*\*'
                       r"|\*([^*\n]{2,80})\*|_([^_\n]{2,80})_")
_TITLED = re.compile(r"\((\d{4})\)")  # "Heat (1995)": a title written out with its year
_YEAR = re.compile(r"(?<![\d.])(1[89]\d\d|20[0-3]\d)(?:'?s)?(?!\d|\.\d)")


@dataclass
class Facts:
    """What this turn's tools established: the only things a reply may state."""

    items: list[int] = field(default_factory=list)  # dense indices, any tool's result
    values: set[tuple[str, str]] = field(default_factory=set)  # asked for / asked about
    years: set[int] = field(default_factory=set)
    quoted: set[str] = field(default_factory=set)  # the user's own words ("not found" titles)
    text: str = ""  # everything the writer was shown (facts JSON + the user's message)

    def add_items(self, catalog: Catalog, items: Iterable[int]) -> None:
        for i in items:
            if i not in self.items:
                self.items.append(int(i))
                y = catalog.year(int(i))
                if y:
                    self.years.add(y)


def check(text: str, facts: Facts, catalog: Catalog, lex: Lexicon) -> list[str]:
    """Problems with ``text`` (empty when it is grounded)."""
    problems: list[str] = []
    allowed_forms: set[str] = set()
    for i in facts.items:
        allowed_forms.update(title_forms(catalog.titles[i])[0])
    problems += _emphasised(text, allowed_forms, facts, catalog)
    problems += _titles(text, lex, allowed_forms, facts)
    problems += _years(text, facts)
    problems += _values(text, facts, catalog, lex)
    if facts.text:
        problems += _names(text, facts.text)
    return list(dict.fromkeys(problems))


def _emphasised(text: str, allowed: set[str], facts: Facts, catalog: Catalog) -> list[str]:
    """Quoted or bold phrases, and "Title (1999)", must be titles of this turn's items."""
    out = []
    for m in _EMPHASIS.finditer(text):
        s = next(g for g in m.groups() if g)
        forms = set(title_forms(s)[0]) | {normalize(s)}
        if normalize(s) in {normalize(q) for q in facts.quoted}:
            continue
        if not forms & allowed and not any(_inside(f, allowed) for f in forms):
            out.append(f"'{s.strip()}' is not one of the items the tools returned")
    low = text.casefold()
    for m in _TITLED.finditer(text):
        before = low[:m.start()].rstrip()
        year = f"({m.group(1)})"
        ok = any(before.endswith(_body(catalog.titles[i]).casefold())
                 and catalog.titles[i].endswith(year) for i in facts.items)
        if not ok:
            tail = text[max(0, m.start() - 40):m.end()].strip()
            out.append(f"'...{tail}' is not an item the tools returned (check title and year)")
    return out


def _body(title: str) -> str:
    return re.sub(r"\s*\(\d{4}\)\s*$", "", title)


def _inside(form: str, allowed: set[str]) -> bool:
    """A shortened title ("Toy Story" for "Toy Story 2") of an allowed item."""
    return len(form) >= 4 and any(a.startswith(form + " ") or a == form for a in allowed)


def _titles(text: str, lex: Lexicon, allowed: set[str], facts: Facts) -> list[str]:
    """Catalog titles named in running text that no tool returned this turn."""
    words = normalize(text).split()
    raw = re.findall(r"[\w']+", text)
    caps = {w.lower() for k, w in enumerate(raw) if w[:1].isupper() and k > 0}
    # written as a name mid-sentence ("or try Heat tonight"): not a sentence's first word
    named = {m.group(0).lower() for m in re.finditer(r"[\w']+", text)
             if m.group(0)[:1].isupper() and m.start() > 0
             and not re.search(r"[.!?:;\n]\W*$", text[:m.start()])}
    covered = [False] * len(words)
    # allowed titles first, longest first, so their own sub-phrases are not flagged
    out = []
    for size in range(min(lex.max_title_len, len(words)), 0, -1):
        for s in range(len(words) - size + 1):
            if any(covered[s:s + size]):
                continue
            form = " ".join(words[s:s + size])
            if form in allowed:
                covered[s:s + size] = [True] * size
    for size in range(min(lex.max_title_len, len(words)), 0, -1):
        for s in range(len(words) - size + 1):
            if any(covered[s:s + size]):
                continue
            form = " ".join(words[s:s + size])
            if form not in lex.title_items:
                continue
            toks = form.split()
            if form in lex.attr_phrases:
                continue  # "War", "Romance": a genre named, not the film of that name
            if all(t in COMMON for t in toks) and not (size == 1 and toks[0] in named):
                continue  # "heat", "up": words, unless one is written as a name mid-sentence
            # one-word titles ("Heat", "Alien") are ordinary words unless written as names
            if size == 1 and toks[0] not in named:
                continue
            if size > 1 and not any(t in caps for t in toks):
                continue
            covered[s:s + size] = [True] * size
            item = lex.best_item(form)
            name = lex.titles[item] if item is not None else form
            out.append(f"'{name}' was not returned by a tool this turn")
    return out


def _years(text: str, facts: Facts) -> list[str]:
    out = []
    for m in _YEAR.finditer(text):
        y = int(m.group(1))
        decade = m.group(0).endswith("s")
        ok = y in facts.years or (decade and any(y <= z < y + 10 for z in facts.years))
        if not ok:
            out.append(f"the year {m.group(0)} is not a year of the items returned")
    return out


def _values(text: str, facts: Facts, catalog: Catalog, lex: Lexicon) -> list[str]:
    """Genre-like values named must belong to the items or to what the user asked for."""
    fld = lex.genre_field
    if fld is None:
        return []
    have = {v for f, v in facts.values if f == fld}
    for i in facts.items:
        have.update(catalog.item_attributes(i).get(fld, []))
    words = normalize(text).split()
    out = []
    for size in range(min(lex.max_attr_len, 3), 0, -1):
        for s in range(len(words) - size + 1):
            hit = lex.attr_phrases.get(" ".join(words[s:s + size]))
            if hit and hit[0] == fld and hit[1] not in have and hit[1].lower() in text.lower():
                out.append(f"'{hit[1]}' is not a {fld} of these items")
    return out


_NAME = re.compile(r"\b[A-Z][\w'’-]+")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n)\W*$")
FUNCTION_NAMES = {"i", "i'm", "i'll", "i've", "i'd", "tastebud", "ok", "okay", "hi", "hello"}


def _names(text: str, allowed_text: str) -> list[str]:
    """Capitalised words mid-sentence (people, places, titles) the writer was never shown."""
    vocab = {w.casefold() for w in re.findall(r"[\w'’-]+", allowed_text)}
    out = []
    for m in _NAME.finditer(text):
        word = m.group(0)
        key = word.casefold()
        if key in vocab or key in FUNCTION_NAMES or key.rstrip("'s’") in vocab:
            continue
        if _SENTENCE_START.search(text[:m.start()]):
            continue  # any word may start a sentence
        out.append(f"'{word}' is not in the facts (no names, people or places may be added)")
    return out


# ------------------------------------------------------------------ an independent second reader

_AUDIT_YEAR = re.compile(r"\((\d{4})\)")
_AUDIT_QUOTED = re.compile(r'"([^"\n]{2,80})"|“([^”\n]{2,80})”|\*\*([^*\n]{2,80})\*\*')


def audit(text: str, said: str, returned: set[str], catalog: Catalog) -> list[str]:
    """Items a reply names that are not in the catalog, or not returned this turn.

    Written apart from ``check`` (which the reply pipeline uses) so benchmarks and tests
    audit what users read with a reader that shares none of its code. It reads titles as
    the catalog stores them ("Matrix, The (1999)"), as people write them ("The Matrix
    (1999)"), and plain in running text: "or Jurassic Park if you want dinosaurs", and a
    one-word title written as a name mid-sentence ("try Heat").
    """
    forms, longest = _audit_forms(catalog)
    bad: list[str] = []
    toks = list(re.finditer(r"[\w'’]+", text))
    words = [t.group(0).casefold().replace("’", "'") for t in toks]
    k = 0
    while k < len(toks):
        hit = None
        for size in range(min(longest, len(toks) - k), 0, -1):
            form = " ".join(words[k:k + size])
            if form in forms:
                hit = (size, form)
                break
        if hit is None:
            k += 1
            continue
        size, form = hit
        first = toks[k].group(0)
        after = text[toks[k + size - 1].end():]
        year = re.match(r"\s*\((\d{4})\)", after)
        start = not text[:toks[k].start()].strip() or bool(
            re.search(r"[.!?:;\n]\s*[\W\d]*$", text[:toks[k].start()]))
        # one capitalised word is a title unless it starts a sentence, is a genre-like
        # value, or begins a name ("Bobby Farrelly", "Ed Harris": not the films Bobby, Ed)
        nxt = toks[k + size].group(0) if k + size < len(toks) else ""
        in_name = size == 1 and nxt[:1].isupper() and not text[toks[k].end():
                                                               toks[k + size].start()].strip()
        # a one-word title of two letters ("Ed", "It", "Up") is a word unless dated
        short = size == 1 and len(form) <= 2
        named = bool(year) or (first[:1].isupper() and (size > 1 or not start) and not short
                               and (size > 1 or form not in _audit_values(catalog))
                               and not in_name)
        if not named:
            k += 1
            continue
        items = forms[form]
        if year:
            items = [i for i in items if catalog.year(i) == int(year.group(1))]
            if not items:
                bad.append(f"not in catalog: {text[toks[k].start():toks[k + size - 1].end()]}"
                           f" ({year.group(1)})")
                k += size
                continue
        if not any(catalog.item_ids[i] in returned for i in items):
            bad.append(f"not returned this turn: {catalog.titles[items[0]]}")
        k += size
    # "Title (YYYY)" whose title the catalog does not know at all
    for m in _AUDIT_YEAR.finditer(text):
        head = text[:m.start()].rstrip().rstrip("!?.…")  # "Mother! (2017)"
        if not any(" ".join(words[j:j + n]) in forms
                   for n in range(1, longest + 1) for j in range(len(words))
                   if j + n <= len(words) and toks[j + n - 1].end() == len(head)):
            bad.append(f"not in catalog: ...{text[max(0, m.start() - 50):m.end()]}")
    for m in _AUDIT_QUOTED.finditer(text):
        q = next(g for g in m.groups() if g).strip()
        if q.casefold() in said.casefold():
            continue  # the user's own words, e.g. a title echoed as not found
        if not any(t.startswith(q.casefold()) for t in _audit_titles(catalog)):
            bad.append(f"quoted, not in catalog: {q}")
    return list(dict.fromkeys(bad))


def _audit_forms(catalog: Catalog) -> tuple[dict[str, list[int]], int]:
    """(folded title form -> items, longest form in words), built once per catalog: the
    stored title without its year, the display title, and the short display title."""
    cached = catalog.__dict__.get("_audit_forms")
    if cached is None:
        from recsys.titles import display_title, short_title

        forms: dict[str, list[int]] = {}
        for i, t in enumerate(catalog.titles):
            bare = re.sub(r"\s*\(\d{4}\)\s*$", "", t)
            for f in {bare, display_title(t), short_title(t)}:
                key = " ".join(re.findall(r"[\w']+", f.casefold().replace("’", "'")))
                if key and key not in forms.get(key, []):
                    forms.setdefault(key, []).append(i)
        longest = max((len(f.split()) for f in forms), default=1)
        cached = catalog.__dict__["_audit_forms"] = (forms, longest)
    return cached


def _audit_values(catalog: Catalog) -> set[str]:
    """Single words that are attribute values ("drama", "western"): a genre, not a film."""
    cached = catalog.__dict__.get("_audit_values")
    if cached is None:
        cached = catalog.__dict__["_audit_values"] = {
            v.casefold() for a in catalog.attributes.values() for v in a.values
            if " " not in v}
    return cached


def _audit_titles(catalog: Catalog) -> list[str]:
    cached = catalog.__dict__.get("_audit_titles")
    if cached is None:
        from recsys.titles import display_title

        cached = catalog.__dict__["_audit_titles"] = [
            *(t.casefold() for t in catalog.titles),
            *(display_title(t).casefold() for t in catalog.titles)]
    return cached
