"""Rules first, the LLM only for what the rules left open; grounded rule slots always win."""

from __future__ import annotations

import logging
import re

from agent.llm.base import ChatModel, LLMError
from agent.nlu.lexicon import COMMON, Lexicon, normalize, title_forms
from agent.nlu.llm import llm_extract
from agent.nlu.request import Request
from agent.nlu.rules import TASK_WORDS, Parse, extract

log = logging.getLogger(__name__)



def understand(text: str, lex: Lexicon, *, llm: ChatModel | None = None,
               shown: int | list[str] | None = None) -> Request:
    """The structured request of one message: rules, then (if given) the LLM to fill gaps.

    Args:
        text: the user's message.
        lex: the catalog's lexicon (``lexicon_for(catalog)``).
        llm: a chat model; None runs the rules only.
        shown: the items on screen (titles) or their count, so "the last one" resolves.
    """
    parse = extract(text, lex, shown=shown)
    if llm is None or not _needs_llm(parse, lex):
        return parse.request
    try:
        guess = llm_extract(text, lex, llm, shown=shown)
    except LLMError as e:
        # The model's failure is not the user's: keep the grounded rule result.
        log.warning("NLU LLM failed, using rules only: %s", e)
        return parse.request
    return merge(parse, guess, text, years=lex.has_years)


def _needs_llm(parse: Parse, lex: Lexicon) -> bool:
    """Ask the LLM only if the kind is unsure or content words were left unexplained."""
    if not parse.kind_sure:
        return True
    left = [w for i, w in enumerate(parse.words)
            if i not in parse.used and w not in COMMON and w not in TASK_WORDS
            and w not in lex.filler and w.isalpha() and len(w) > 3]
    return bool(left) and parse.request.kind in ("recommend", "refine") \
        and not parse.request.free_text


def merge(parse: Parse, guess: Request, text: str, *, years: bool = True) -> Request:
    """Rule slots stay; LLM values fill only empty slots, and only with words from ``text``."""
    out = Request.from_json(parse.request.to_json())
    words = set(normalize(text).split())
    # Measured: the 0.5B model's kind is right ~60% of the time, worse than the rules' cue-based
    # guess, so it decides only when the rules found no cue at all.
    if not parse.kind_sure and parse.request.kind == "chitchat":
        out.kind = guess.kind
    has_attrs = bool(out.include or out.exclude)
    if not has_attrs:
        # The small model likes to fill every genre; keep at most two of its values.
        for slot, bucket in (("include", guess.include), ("exclude", guess.exclude)):
            for fld, values in bucket.items():
                for v in values[:2]:
                    out.add(slot, fld, v)
    if years and out.year_min is None and out.year_max is None and _mentions_year(text):
        out.year_min, out.year_max = guess.year_min, guess.year_max
    if not out.titles:
        norm = f" {normalize(text)} "
        # A title written out verbatim was already judged by the rules (e.g. "date night"
        # without capitals is a phrase); the LLM may only add titles the rules could not see.
        out.titles = [t for t in guess.titles if _overlaps(t, words)
                      and not any(f" {f} " in norm for f in title_forms(t)[0])]
    if not out.free_text and guess.free_text:
        ft = normalize(guess.free_text).split()
        # Extractive only: a free text the user did not write is an invention.
        if ft and all(w in words for w in ft):
            out.free_text = guess.free_text
    return out


def _mentions_year(text: str) -> bool:
    return bool(re.search(r"\b(1[89]|20)?\d0'?s\b|\b(18|19|20)\d\d\b|ties\b", text.lower()))


def _overlaps(title: str, words: set[str]) -> bool:
    """At least half of a title's content words appear in the message."""
    tw = [w for w in normalize(re.sub(r"\(\d{4}\)\s*$", "", title)).split() if w not in COMMON]
    return bool(tw) and sum(w in words for w in tw) * 2 >= len(tw)
