"""Real recommendation dialogues in ReDial's format, with their movies mapped to a catalog.

A ReDial line is one dialogue: ``messages`` (text with ``@<id>`` movie mentions, a sender),
``movieMentions`` (id -> "Title (Year)", the year often wrong or missing) and the seeker's
worker id (``initiatorWorkerId``). ``read_dialogues`` parses a file into ``Dialogue`` objects
whose turns are runs of consecutive messages by one side; ``TitleMapper`` maps ReDial's movie
names onto catalog items (normalised title and alternate titles, the year within a tolerance).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from recsys.catalog import Catalog
from recsys.errors import TastebudError

MENTION = re.compile(r"@(\d+)")
_YEAR = re.compile(r"\((\d{4})\)\s*$")


class DialogueFileError(TastebudError):
    """A dialogue file that cannot be read as ReDial-format JSON lines."""


@dataclass(frozen=True)
class Turn:
    """Consecutive messages of one side; ``movies`` are ReDial ids in order of mention."""

    seeker: bool
    text: str  # the messages joined by newlines, mentions left as "@id"
    movies: tuple[str, ...]


@dataclass
class Dialogue:
    """One conversation: its turns and ReDial's names of the movies it mentions."""

    id: str
    turns: list[Turn]
    names: dict[str, str] = field(default_factory=dict)  # ReDial movie id -> "Title (Year)"

    def text_of(self, turn: Turn) -> str:
        """The turn as a person would have typed it: each "@id" replaced by the movie name."""
        def name(m: re.Match[str]) -> str:
            return " ".join(self.names.get(m.group(1), "that movie").split())

        return MENTION.sub(name, turn.text)


def read_dialogues(path: str | Path) -> list[Dialogue]:
    """Every dialogue of a ReDial-format JSON-lines file."""
    p = Path(path)
    if not p.is_file():
        raise DialogueFileError(f"no dialogue file at {p}; pass a ReDial-format .jsonl path")
    return list(_parse(p))


def _parse(path: Path) -> Iterator[Dialogue]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as e:
                raise DialogueFileError(f"{path.name}:{n}: not JSON ({e})") from None
            if isinstance(raw, list):  # INSPIRED in UniCRS's layout: a list of turns
                yield _inspired(raw, path, n)
                continue
            try:
                seeker = raw["initiatorWorkerId"]
                messages = raw["messages"]
            except (KeyError, TypeError) as e:
                raise DialogueFileError(f"{path.name}:{n}: not a ReDial dialogue ({e}); each "
                                        "line needs messages and initiatorWorkerId") from None
            turns: list[Turn] = []
            for m in messages:
                is_seeker = m.get("senderWorkerId") == seeker
                text = str(m.get("text") or "")
                if turns and turns[-1].seeker == is_seeker:
                    last = turns[-1]
                    turns[-1] = Turn(is_seeker, f"{last.text}\n{text}",
                                     last.movies + tuple(MENTION.findall(text)))
                else:
                    turns.append(Turn(is_seeker, text, tuple(MENTION.findall(text))))
            names = {str(k): str(v) for k, v in (raw.get("movieMentions") or {}).items()
                     if v}
            yield Dialogue(str(raw.get("conversationId", n)), turns, names)


def _inspired(raw: list, path: Path, n: int) -> Dialogue:
    """An INSPIRED dialogue (Hayati et al. 2020, UniCRS layout): turns with a role
    (SEEKER / RECOMMENDER) and the movies they name as "Title (Year)". Each name gets an id
    of its own, so the dialogue reads like a ReDial one."""
    ids: dict[str, str] = {}
    turns: list[Turn] = []
    for t in raw:
        if not isinstance(t, dict) or "role" not in t:
            raise DialogueFileError(f"{path.name}:{n}: a list of turns needs a role in each "
                                    "(INSPIRED's layout) ")
        is_seeker = str(t["role"]).upper() == "SEEKER"
        movies = tuple(ids.setdefault(str(m), f"i{len(ids)}") for m in t.get("movie") or [])
        text = str(t.get("text") or "")
        if turns and turns[-1].seeker == is_seeker:
            last = turns[-1]
            turns[-1] = Turn(is_seeker, f"{last.text}\n{text}", last.movies + movies)
        else:
            turns.append(Turn(is_seeker, text, movies))
    return Dialogue(f"{path.stem}:{n}", turns, {v: k for k, v in ids.items()})


class TitleMapper:
    """ReDial movie names -> catalog item indices (None when the catalog lacks the film).

    A name matches a catalog title form (articles moved, alternate titles in parentheses);
    with a year, the closest catalog year within ``tolerance`` wins (ReDial's years are often
    off by one); without one, the most rated item with that title.
    """

    def __init__(self, catalog: Catalog, tolerance: int = 1) -> None:
        from agent.nlu.lexicon import lexicon_for

        self.lex = lexicon_for(catalog)
        self.tolerance = tolerance
        self._cache: dict[str, int | None] = {}

    def __call__(self, name: str) -> int | None:
        name = " ".join(name.split())
        if name not in self._cache:
            self._cache[name] = self._map(name)
        return self._cache[name]

    def _map(self, name: str) -> int | None:
        from urllib.parse import unquote

        from agent.nlu.lexicon import normalize, title_forms

        name = unquote(name)  # ReDial writes "What About Bob%3F (1991)"
        m = _YEAR.search(name)
        year = int(m.group(1)) if m else None
        forms, _ = title_forms(name if m else f"{name} (0000)")
        forms = [*forms, normalize(_YEAR.sub("", name))]
        items = sorted({i for f in forms for i in self.lex.title_items.get(f, [])})
        pop = self.lex.popularity
        if year is not None:
            # "Jumanji (2017)" is "Jumanji: Welcome to the Jungle (2017)": a title that
            # starts with the name, followed by a subtitle, of the same year
            items += [i for i in self._prefixed(forms) if self.lex.years[i]
                      and abs(self.lex.years[i] - year) <= self.tolerance]
        if not items:
            return None
        popular = max(items, key=lambda i: (pop[i] if pop is not None else 0, -i))
        if year is None:
            return popular
        gap = {i: abs(self.lex.years[i] - year) for i in items if self.lex.years[i]}
        close = [i for i, g in gap.items() if g <= self.tolerance]
        if not close:
            # ReDial's years come from a lookup that often picked another film of the name
            # ("Titanic (2012)"); people mean the well-known one
            return popular
        return min(close, key=lambda i: (gap[i], -(pop[i] if pop is not None else 0)))

    def _prefixed(self, forms: list[str]) -> list[int]:
        """Items whose catalog title is one of ``forms`` plus a subtitle after a colon."""
        return [i for f in forms for i in self.lex.subtitled(f)]

    def map_dialogue(self, d: Dialogue) -> dict[str, int]:
        """ReDial id -> catalog item for every mapped movie of one dialogue."""
        out = {}
        for rid, name in d.names.items():
            i = self(name)
            if i is not None:
                out[rid] = i
        return out
