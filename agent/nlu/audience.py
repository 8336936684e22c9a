"""Who is watching: "a movie to watch with my 8-year-old" asks for the catalog's child rule."""

from __future__ import annotations

import re

from agent.nlu.lexicon import Lexicon
from agent.nlu.request import Request

_AGE_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
              "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
# "my 8-year-old", "a 6 year old", "for a seven-year-old" (tokens: 8 year old)
_AGE = re.compile(r"\b(\d{1,2}|" + "|".join(_AGE_WORDS) + r") (?:year|yr)s? olds?\b")
# ITEMS: the catalog's words for its items ("kids movies", "family film night")
_CHILD = (r"\b(?:(?:my|our|the|with|for|little|young|small) (?:\w+ )?(?:kids?|children|child|"
          r"toddlers?|little ones?|grandkids|grandchildren|nephews?|nieces?)|kids? ITEMS|"
          r"family (?:ITEMS )?night|family friendly|kid friendly|child friendly|"
          r"suitable for (?:kids|children)|safe for (?:kids|children)|all ages)\b")
_NEGATED = re.compile(r"\b(not|no|without|never|nothing) (?:\w+ ){0,2}$")


def audience(norm: str, lex: Lexicon, req: Request) -> None:
    """Set ``req.audience`` to "child" when the message says a child is watching and the
    catalog has a rule for children (a music catalog has none: nothing happens)."""
    if "child" not in lex.audiences:
        return
    for m in _AGE.finditer(norm):
        n = m.group(1)
        age = int(n) if n.isdigit() else _AGE_WORDS[n]
        if age <= 12 and not _NEGATED.search(norm[:m.start()]):
            req.audience = "child"
            return
    for m in _child(lex).finditer(norm):
        if not _NEGATED.search(norm[:m.start()]) and not re.search(
                r"\b(at heart|inner child|as a (kid|child)|when i was)\b", norm):
            req.audience = "child"
            return


def _child(lex: Lexicon) -> re.Pattern[str]:
    """The child pattern with the catalog's words for its items, built once per lexicon."""
    pat = lex.__dict__.get("_child_re")
    if pat is None:
        pat = lex.__dict__["_child_re"] = re.compile(_CHILD.replace("ITEMS",
                                                                    lex.items_pattern()))
    return pat
