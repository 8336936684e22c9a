"""Did a simulated user give the answer away? A fuzzy match of the target's title in its words.

A simulated user who names the film it wants before the system showed it makes the episode
worthless: the manager only has to look the title up. ``leaks`` reads a message for any form
of the title (as stored, "Matrix, The"; as people write it, "The Matrix"; the part before a
colon or bracket), with small misspellings allowed on long forms ("Shawshank Redemtion").
"""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[\w']+")
FUZZY_MIN_CHARS = 8  # shorter forms ("Heat", "Up") must match word for word
FUZZY_SCORE = 88.0  # rapidfuzz ratio (0-100) of a window of words to a form
ARTICLES = {"the", "a", "an", "la", "le", "les", "il", "el", "los", "las", "die", "der", "das"}


def _words(text: str) -> list[str]:
    return WORD.findall(text.casefold().replace("’", "'"))


@lru_cache(maxsize=4096)
def title_forms(title: str) -> tuple[tuple[str, ...], ...]:
    """The word sequences a person might write for ``title`` (folded, without the year)."""
    from recsys.titles import display_title, short_title

    bare = re.sub(r"\s*\(\d{4}\)\s*$", "", title)
    forms = {tuple(_words(f)) for f in (bare, display_title(title), short_title(title))}
    # without a leading article too: "Shawshank Redemption" names "The Shawshank Redemption"
    forms |= {f[1:] for f in forms if len(f) > 1 and f[0] in ARTICLES}
    return tuple(sorted(f for f in forms if f))


def leaks(text: str, title: str) -> bool:
    """True when ``text`` names ``title`` (exactly, or nearly for a form of 8+ characters)."""
    from rapidfuzz import fuzz

    words = _words(text)
    for form in title_forms(title):
        n = len(form)
        joined = " ".join(form)
        for k in range(len(words) - n + 1):
            window = " ".join(words[k:k + n])
            if window == joined:
                return True
            if len(joined) >= FUZZY_MIN_CHARS and fuzz.ratio(window, joined) >= FUZZY_SCORE:
                return True
    return False
