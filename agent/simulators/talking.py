"""The preference-aligned user, in words: ``ChoiceUser``'s choices spoken to the dialogue manager.

It plays one real scene against the full manager: opens from a broad value of the target
("I'd like a comedy, maybe from the 90s"), answers the manager's questions from the target's
truth (``ChoiceUser.answer``), and reads each list it is shown: takes an item when
``ChoiceUser.judge`` does ("I'll take number 3, Heat looks great"), otherwise turns the list
down with a reason drawn from attributes ("not number 2, I'm not into horror", "none of these,
something newer"). Every phrase is one the rule understanding reads (tests check this), and
the target's title is never said before it is shown: a message that would name it is
replaced by a plain "something else" (``agent.simulators.leaks`` is the judge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.simulators.choice_user import BROAD_FIELD, ChoiceUser
from agent.simulators.leaks import leaks
from recsys.catalog import Catalog


def _kind(field_name: str) -> str:
    """How a field is spoken of: "genre" (a comedy), "rating" (rated PG-13) or "other"."""
    name = field_name.casefold()
    if any(w in name for w in ("genre", "categor", "style", "kind")):
        return "genre"
    if any(w in name for w in ("certif", "rating", "rated")):
        return "rating"
    return "other"


def _word(value: str) -> str:
    """A value as said mid-sentence: "Comedy" -> "comedy", "IMAX" and "Sci-Fi" kept."""
    return value.lower() if value[:1].isupper() and value[1:].islower() else value


@dataclass(frozen=True)
class Said:
    """One message of the simulated user; ``accepted`` (dense item) ends the episode."""

    text: str
    accepted: int | None = None
    rank: int | None = None  # 1-based position of the accepted item in the list


@dataclass
class TalkingUser:
    """Speaks for ``choice`` over ``catalog`` (the catalog the manager recommends from)."""

    choice: ChoiceUser
    catalog: Catalog
    decade_share: float = 0.5  # openings that also give the target's decade
    _target: int = -1
    _rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    _shown: set[int] = field(default_factory=set)
    _opening: tuple[str, str] | None = None

    # ------------------------------------------------------------------ helpers

    def _pick(self, options: Sequence[str]) -> str:
        return options[int(self._rng.integers(len(options)))]

    def _broad(self, item: int) -> dict[str, list[str]]:
        """The item's values in genre-like fields (few values, named so), by field; any
        broad field where the catalog has no genre-like one."""
        sizes = {f: len(a.values) for f, a in self.catalog.attributes.items()}
        broad = {f: vs for f, vs in self.catalog.item_attributes(item).items()
                 if sizes.get(f, 0) <= BROAD_FIELD}
        genre = {f: vs for f, vs in broad.items() if _kind(f) == "genre"}
        return genre if any(_kind(f) == "genre" for f in sizes) else broad

    def _title(self, item: int) -> str:
        from recsys.titles import display_title

        return display_title(self.catalog.titles[item])

    def _safe(self, text: str, fallback: str) -> str:
        """``text``, unless it would name the target before it was shown."""
        if self._target in self._shown or not leaks(text, self.catalog.titles[self._target]):
            return text
        return fallback

    # ------------------------------------------------------------------ the episode

    def start(self, user: int, target: int, rng: np.random.Generator) -> str:
        """The opening message for (user, target): a broad want, sometimes with a decade."""
        attrs = self.choice.start(user, target, rng)
        self._target, self._rng, self._shown = int(target), rng, set()
        f, v = attrs[0][0], str(attrs[0][1])
        if _kind(f) == "rating" and (len(v) < 3 or "/" in v):
            # the understanding reads no 1-2 letter value ("rated R"): say a genre instead
            genres = sorted(x for vs in self._broad(target).values() for x in vs)
            if genres:
                f, v = next(iter(self._broad(target))), genres[int(rng.integers(len(genres)))]
        self._opening = (f, v)
        want = _word(v)
        # "(no genres listed)", or a rating still unsayable: no want, just a request
        if not any(c.isalpha() for c in v) or "(" in v or (
                _kind(f) == "rating" and (len(v) < 3 or "/" in v)):
            text = self._pick(["I need a recommendation", "what should I watch tonight?"])
        elif _kind(f) == "rating":
            text = self._pick([f"something rated {v}", f"any film rated {v}",
                               f"I'd like something rated {v}"])
        else:
            a = "an" if want[:1].lower() in "aeiou" else "a"
            text = self._pick([f"I'd like {a} {want} film", f"some {want} please",
                               f"I'm in the mood for {a} {want} movie",
                               f"any good {want} films?", f"I want to watch {a} {want} film"])
        year = self.catalog.year(target)
        if year and self._rng.random() < self.decade_share:
            decade = year // 10 * 10
            when = self._pick([f", maybe from the {decade}s", f" from the {decade}s",
                               f", ideally {decade}s"])
            # "any good war films from the 1990s?", not "any good war films?, ..."
            text = text[:-1] + when + "?" if text.endswith("?") else text + when
        return self._safe(text, "I need a recommendation")

    def reply(self, turn: dict[str, Any]) -> Said:
        """What the user says to the manager's ``turn`` (``Manager.respond``'s result)."""
        cat = self.catalog
        items = [cat.item_index[c["id"]] for c in (turn.get("items") or [])]
        if items:
            self._shown.update(items)
            rank = self.choice.judge(items)
            if rank is not None:
                name = self._title(items[rank - 1])
                text = self._pick([f"I'll take number {rank}, {name} looks great",
                                   f"number {rank} please, {name} is exactly it",
                                   f"great, I'll watch number {rank}"])
                return Said(text, items[rank - 1], rank)
            return Said(self._safe(self._turn_down(items), "something else please"))
        q = turn.get("question")
        if q:
            yes = self.choice.answer((q["field"], q["value"]))
            return Said(self._pick(["yes", "yeah", "sure", "yes please"] if yes
                                   else ["no", "nope", "not really", "no thanks"]))
        # a reply without a list or a question: say the want again
        f, v = self._opening or ("", "")
        again = f"something rated {v}" if _kind(f) == "rating" else f"some {_word(v)} please"
        return Said(self._safe(self._pick([again, "show me some options",
                                           "what do you recommend?"]),
                               "what do you recommend?"))

    def _turn_down(self, items: list[int]) -> str:
        """A short reason against the list, from the target's attributes."""
        want = {v for vs in self._broad(self._target).values() for v in vs}
        roll = self._rng.random()
        # an item whose broad values the target lacks: "not number 2, I'm not into horror"
        unlike = [(k + 1, sorted(set(vs) - want))
                  for k, i in enumerate(items)
                  for vs in [[v for x in self._broad(i).values() for v in x]]
                  if set(vs) - want and not set(vs) & want]
        if unlike and roll < 0.6:
            k, extra = unlike[int(self._rng.integers(len(unlike)))]
            v = extra[int(self._rng.integers(len(extra)))]
            word = _word(v)
            return self._pick([f"not number {k}, I'm not into {word}",
                               f"not number {k}, no {word} please",
                               f"swap number {k}, I don't like {word}"])
        year = self.catalog.year(self._target)
        years = [y for i in items if (y := self.catalog.year(i))]
        if year and years and roll < 0.85:
            mid = float(np.median(years))
            if mid < year - 5:
                return self._pick(["none of these, something newer",
                                   "those are too old, something more recent"])
            if mid > year + 5:
                return self._pick(["none of these, something older",
                                   "too recent, something older"])
        return self._pick(["none of these, show me something else", "something else please",
                           "not these, other options?"])
