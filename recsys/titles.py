"""Titles as people write them: "Matrix, The (1999)" in a catalog reads "The Matrix" on a card.

Library catalogs (MovieLens, many music and book exports) move a leading article to the end so
lists sort by the first real word. A person never writes it so, and a reply that says
"Matrix, The" reads like a database dump.
"""

from __future__ import annotations

import re
from typing import Any

# leading articles in the languages MovieLens titles use; only these are moved back
ARTICLES = ("The", "A", "An", "La", "Le", "Les", "L'", "Il", "Lo", "I", "Gli", "El", "Los",
            "Las", "Un", "Una", "Une", "Die", "Der", "Das", "Den", "Det", "De", "Het", "O", "Os")
_YEAR = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_MOVED = re.compile(r"^(?P<body>.+?),\s+(?P<art>" + "|".join(re.escape(a) for a in ARTICLES)
                    + r")$")


def _unmove(part: str) -> str:
    m = _MOVED.match(part.strip())
    if not m:
        return part.strip()
    art = m.group("art")
    return f"{art}{'' if art.endswith(chr(39)) else ' '}{m.group('body')}"


def display_title(title: str) -> str:
    """The title as a person writes it, without a trailing year ("Matrix, The (1999)" ->
    "The Matrix"); an alternate title in parentheses is kept, its article moved too."""
    body = _YEAR.sub("", title).strip() or title.strip()
    # "City of Lost Children, The (Cité des enfants perdus, La)": main title, then alternates
    m = re.match(r"^(?P<main>[^()]+?)\s*(?P<alt>(?:\([^()]*\)\s*)*)$", body)
    if not m:
        return _unmove(body)
    alts = re.findall(r"\(([^()]*)\)", m.group("alt"))
    main = _unmove(m.group("main"))
    return main + "".join(f" ({_unmove(a)})" for a in alts if a.strip())


def short_title(title: str) -> str:
    """The display title without alternates ("The City of Lost Children"): what a reply says."""
    full = display_title(title)
    head = re.sub(r"\s*\([^()]*\)\s*$", "", full).strip()
    while head != full and head:
        full, head = head, re.sub(r"\s*\([^()]*\)\s*$", "", head).strip()
    return head or full


def item_name(catalog: Any, item: int) -> str:
    """ "The Matrix (1999)": an item of ``catalog`` as a reply or card names it."""
    year = catalog.year(item)
    return short_title(catalog.titles[item]) + (f" ({year})" if year else "")
