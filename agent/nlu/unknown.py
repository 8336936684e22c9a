"""Titles the user named that the catalog does not have ("something like Blorptastic Voyage").

Rules ground every title they can; a name-like phrase after a title cue ("like", "watched")
or in quotes that grounds to nothing is reported, so the reply can say so instead of guessing.
"""

from __future__ import annotations

import re

from agent.nlu.lexicon import COMMON, Lexicon, normalize
from agent.nlu.request import Request

_QUOTED = re.compile(r'"([^"]{2,60})"|“([^”]{2,60})”|\'([^\']{3,60})\'')
_CUE = re.compile(r"\b(?:like|than|as|watched|seen|saw|loved|liked|hated|enjoyed|about|"
                  r"similar to|called|named|titled)\s+((?:[A-Z0-9][\w'’:-]*"
                  r"(?:\s+(?:of|the|and|in|on|a|an|to|for|&)\b)*\s*)+)")
_CONNECTOR = re.compile(r"(?:\s+(?:of|the|and|in|on|a|an|to|for|&))+\s*$")


def unknown_titles(text: str, req: Request, lex: Lexicon) -> list[str]:
    """Name-like phrases in ``text`` that are neither catalog titles nor attribute values."""
    found = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]
    found += [m.group(1) for m in _CUE.finditer(text)]
    known = {normalize(t) for t in req.titles}
    out: list[str] = []
    for phrase in found:
        phrase = _CONNECTOR.sub("", phrase.strip(" .,!?;:"))
        norm = normalize(phrase)
        words = norm.split()
        if not words or all(w in COMMON for w in words) or norm in lex.attr_phrases:
            continue
        if any(norm in k or k.startswith(norm) for k in known):
            continue
        if lex.ground_title(phrase) is not None:
            continue
        if phrase not in out:
            out.append(phrase)
    return out
