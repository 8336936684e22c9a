"""A language-level simulated user for the dialogue manager: types messages, reads replies.

It wants one hidden target item and talks the way the annotated set does: states a genre or
a decade, answers yes/no questions truthfully, turns down items unlike the target ("not
number 3", "no horror"), asks why and asks facts, names titles it liked, and now and then a
title the catalog does not have. It exercises every turn kind, so it drives the latency
and grounding benchmarks; it is not a model of real users' preferences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsys.catalog import Catalog

FAKE_TITLES = ["Blorptastic Voyage", "The Zorbian Chronicles", "Midnight Over Quellport",
               "Captain Vexley Returns", "Glimmerhaven"]


@dataclass
class ChatUser:
    """One episode: ``opening()`` first, then ``respond(turn)`` until it returns None."""

    catalog: Catalog
    target: int
    rng: np.random.Generator
    liked: list[int] = field(default_factory=list)  # items from the user's history
    max_turns: int = 8
    genre_field: str | None = None
    turns: int = 0
    _said_why: bool = False

    def __post_init__(self) -> None:
        if self.genre_field is None:
            small = [f for f, a in self.catalog.attributes.items() if len(a.values) <= 64]
            self.genre_field = small[0] if small else next(iter(self.catalog.attributes))

    def _genres(self, item: int) -> list[str]:
        return self.catalog.item_attributes(item).get(self.genre_field or "", [])

    def _pick(self, options: list[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def opening(self) -> str:
        self.turns = 1
        g = self._genres(self.target)
        year = self.catalog.year(self.target)
        roll = self.rng.random()
        if roll < 0.1:
            return f"anything like {self._pick(FAKE_TITLES)}?"
        if roll < 0.25 and self.liked:
            title = self.catalog.titles[self.liked[int(self.rng.integers(len(self.liked)))]]
            return f"something like {title.rsplit(' (', 1)[0]}"
        if roll < 0.35 or not g:
            return self._pick(["recommend me something", "hi! what should I watch tonight?",
                               "I need a recommendation"])
        genre = self._pick(g)
        if year and roll < 0.7:
            return self._pick([f"some {genre} from the {year // 10 * 10}s",
                               f"I'm in the mood for a {genre.lower()} film from the "
                               f"{year // 10 * 10 % 100:02d}s"])
        return self._pick([f"some {genre} please", f"any good {genre.lower()} movies?",
                           f"I want to watch a {genre} film"])

    def respond(self, turn: dict[str, Any]) -> str | None:
        """The next message after the system's ``turn`` (``Manager.respond``), or None."""
        self.turns += 1
        if self.turns > self.max_turns:
            return None
        cat, want = self.catalog, set(self._genres(self.target))
        if turn.get("question"):
            q = turn["question"]
            has = q["value"] in cat.item_attributes(self.target).get(q["field"], [])
            return self._pick(["yes", "sure", "yeah"] if has else ["no", "nope", "not really"])
        items = turn.get("items") or []
        ids = [cat.item_index[c["id"]] for c in items]
        if self.target in ids:
            k = ids.index(self.target) + 1
            return f"I loved number {k}" if not self._said_why else None
        if turn.get("action") == "ack" and not items and self._said_why:
            return None
        if not ids:
            g = sorted(want)
            return self._pick([f"some {g[0]} then" if g else "something popular",
                               "what do you have?", "anything else?"])
        roll = self.rng.random()
        unlike = [k + 1 for k, i in enumerate(ids) if not set(self._genres(i)) & want]
        close = [k + 1 for k, i in enumerate(ids) if set(self._genres(i)) & want]
        if roll < 0.2:
            self._said_why = True
            return self._pick([f"why number {1 + int(self.rng.integers(len(ids)))}?",
                               "why that one?", "why the first one?"])
        if roll < 0.35:
            k = 1 + int(self.rng.integers(len(ids)))
            return self._pick([f"what genre is number {k}?", f"tell me about number {k}",
                               f"who directed number {k}?",
                               f"what year is {cat.titles[ids[k - 1]].rsplit(' (', 1)[0]} "
                               "from?"])
        if roll < 0.55 and unlike:
            return self._pick([f"not number {unlike[0]}", f"swap number {unlike[-1]}",
                               f"I've seen number {unlike[0]}"])
        shown_genres = {g for i in ids for g in self._genres(i)}
        avoid = sorted(shown_genres - want)
        if roll < 0.75 and avoid:
            return self._pick([f"no {avoid[0].lower()} please", f"less {avoid[0]}",
                               f"nothing {avoid[-1]}"])
        if roll < 0.85 and close:
            return f"more like number {close[0]}"
        if roll < 0.9:
            return f"have you got {self._pick(FAKE_TITLES)}?"
        return self._pick(["something else", "show me more", "other options?"])


def episodes(catalog: Catalog, n: int, seed: int = 0) -> list[tuple[str | None, ChatUser]]:
    """``n`` (user id or None, simulator) pairs: targets from held-out-ish liked items."""
    rng = np.random.default_rng(seed)
    inter = catalog.interactions
    good = inter.ratings >= 4 if inter.ratings is not None else np.ones(len(inter.items), bool)
    out: list[tuple[str | None, ChatUser]] = []
    for _ in range(n):
        k = int(rng.choice(np.flatnonzero(good)))
        u, target = int(inter.users[k]), int(inter.items[k])
        mine = inter.items[(inter.users == u) & good]
        liked = [int(i) for i in mine if i != target][:20]
        new_user = rng.random() < 0.5  # half the episodes: a person the models never saw
        out.append((None if new_user else catalog.user_ids[u],
                    ChatUser(catalog, target, np.random.default_rng(rng.integers(2**32)),
                             liked=liked)))
    return out


def drive(manager: Any, turns: int, *, seed: int = 0, progress: bool = True
          ) -> list[dict[str, Any]]:
    """Run simulated conversations until ``turns`` turns; one record per turn.

    Each record is ``Manager.respond``'s result plus ``"said"`` (the user's message),
    ``"user"`` and ``"episode"``. A progress bar goes to stderr.
    """
    from tqdm import tqdm

    records: list[dict[str, Any]] = []
    bar = tqdm(total=turns, desc="simulated turns", unit="turn", disable=not progress)
    episode = 0
    pool = episodes(manager.catalog, max(4, turns), seed=seed)
    while len(records) < turns:
        user_id, sim = pool[episode % len(pool)]
        conv = manager.start(user_id)
        text: str | None = sim.opening()
        while text is not None and len(records) < turns:
            result = manager.respond(conv, text)
            records.append({**result, "said": text, "user": user_id, "episode": episode})
            bar.update(1)
            text = sim.respond(result)
        episode += 1
    bar.close()
    return records
