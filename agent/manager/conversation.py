"""One person's conversation with the recommender: what they asked for, saw and said about it.

Everything here is plain data (JSON round-trip with ``to_json``/``from_json``), so a server
can keep conversations in its database and a test can assert on them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agent.nlu.request import Request


@dataclass
class Constraints:
    """The standing request: hard conditions, soft wishes and seed items ("like Alien")."""

    include: dict[str, list[str]] = field(default_factory=dict)
    exclude: dict[str, list[str]] = field(default_factory=dict)
    year_min: int | None = None
    year_max: int | None = None
    free_text: str | None = None
    seeds: list[str] = field(default_factory=list)  # catalog item ids
    less: dict[str, list[str]] = field(default_factory=dict)  # "less scary": ranked down
    unlike: list[str] = field(default_factory=list)  # "nothing like Titanic" (item ids)
    since: int = 0  # the turn this request was made (a new request resets it)
    said: dict[str, int] = field(default_factory=dict)  # "field:value" -> turn last asked
    ranges: dict[str, list[float | None]] = field(default_factory=dict)  # number [lo, hi]
    audience: str | None = None  # "child": every list suits that audience

    @property
    def empty(self) -> bool:
        return not (self.include or self.exclude or self.year_min or self.year_max
                    or self.free_text or self.seeds or self.less or self.ranges
                    or self.audience)

    def replace_with(self, req: Request, seeds: list[str]) -> None:
        """A new request: forget the old conditions."""
        self.include, self.exclude, self.less, self.unlike = {}, {}, {}, []
        self.year_min = self.year_max = None
        self.free_text, self.seeds, self.ranges = None, [], {}
        # who is watching outlives a change of topic: "now something funny" is still for the
        # 8-year-old; only saying otherwise (a new audience) changes it
        self.refine_with(req, seeds)

    def refine_with(self, req: Request, seeds: list[str]) -> None:
        """Add to the standing request; a value moves between include and exclude if asked."""
        for fld, values in req.include.items():
            for v in values:
                _move(self.exclude, self.include, fld, v)
        for fld, values in req.exclude.items():
            for v in values:
                _move(self.include, self.exclude, fld, v)
        if req.year_min is not None or req.year_max is not None:
            self.year_min, self.year_max = req.year_min, req.year_max
        if req.free_text:
            self.free_text = req.free_text
        self.ranges |= {k: list(v) for k, v in req.ranges.items()}
        if req.audience:
            self.audience = req.audience
        if seeds:
            self.seeds = list(dict.fromkeys(seeds))

    def drop(self, fld: str, value: str) -> None:
        for bucket in (self.include, self.exclude):
            if value in bucket.get(fld, []):
                bucket[fld].remove(value)
                if not bucket[fld]:
                    del bucket[fld]

    def describe(self) -> str:
        """A short human reading ("Sci-Fi, not Horror, 1990-1999")."""
        parts = [", ".join(v) for v in self.include.values()]
        parts += [f"not {', '.join(v)}" for v in self.exclude.values()]
        parts += [f"less {', '.join(v)}" for v in self.less.values()]
        if self.year_min or self.year_max:
            parts.append(f"{self.year_min or '…'}-{self.year_max or '…'}")
        for fld, (lo, hi) in self.ranges.items():
            parts.append(f"{fld} under {hi:g}" if lo is None and hi is not None else
                         f"{fld} over {lo:g}" if hi is None and lo is not None else
                         f"{fld} {lo:g}-{hi:g}")
        if self.audience:
            parts.append({"child": "children"}.get(self.audience, self.audience))
        if self.free_text:
            parts.append(f'"{self.free_text}"')
        return "; ".join(p for p in parts if p)


def _move(src: dict[str, list[str]], dst: dict[str, list[str]], fld: str, v: str) -> None:
    if v in src.get(fld, []):
        src[fld].remove(v)
        if not src[fld]:
            del src[fld]
    dst.setdefault(fld, [])
    if v not in dst[fld]:
        dst[fld].append(v)


@dataclass
class Conversation:
    """The state of one chat; item references are catalog ids (stable across restarts)."""

    catalog: str
    user_id: str | None = None  # catalog user id; None = a new user with no history
    turn: int = 0
    constraints: Constraints = field(default_factory=Constraints)
    shown: list[str] = field(default_factory=list)  # the list on screen, in order
    ever_shown: list[str] = field(default_factory=list)
    focus: str | None = None  # the item last talked about ("it", "that one")
    liked: list[str] = field(default_factory=list)
    disliked: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    accepted: list[tuple[str, str]] = field(default_factory=list)  # attribute answers: yes
    rejected: list[tuple[str, str]] = field(default_factory=list)  # attribute answers: no
    pending: tuple[str, str] | None = None  # the attribute asked about, awaiting yes/no
    questions: int = 0
    history: list[dict[str, str]] = field(default_factory=list)  # {"role", "text"}, short
    # every item the person named or judged: [item id, polarity, turn]; ranking seeds
    # (a mention or like > 0, a dislike or "nothing like X" < 0), newest first in weight
    mentions: list[list] = field(default_factory=list)
    # the words of the standing request ("movie night with my kids; no musicals"): the
    # situation a list answers, which the profile learns preferences in and recalls them by
    context: str = ""
    # preferences recalled from the profile and applied to this turn's list ({"id", "text",
    # "context", "similarity", "rule"}), as the trace and the reply show them
    memory: list[dict[str, Any]] = field(default_factory=list)

    def mention(self, item_id: str, polarity: float) -> None:
        """Record that the person named or judged an item this turn (the newest one wins)."""
        self.mentions = [m for m in self.mentions if m[0] != item_id]
        self.mentions.append([item_id, float(polarity), self.turn])

    @property
    def excluded(self) -> list[str]:
        """Items never to recommend again: turned down or already seen."""
        return list(dict.fromkeys([*self.disliked, *self.seen]))

    def judge(self, item_id: str, kind: str) -> None:
        """A verdict on an item: "like", "dislike" or "seen"; a like and a dislike of one
        item exclude each other (the newer wins)."""
        buckets = {"like": self.liked, "dislike": self.disliked, "seen": self.seen}
        for other in ("like", "dislike"):
            if other != kind and kind != "seen" and item_id in buckets[other]:
                buckets[other].remove(item_id)
        if item_id not in buckets[kind]:
            buckets[kind].append(item_id)

    def edit_list(self, shown: list[str], edited: list[str]) -> list[str]:
        """The person left ``edited`` of the list ``shown``: what they took off is turned
        down ("not this one"). Returns the removed ids.

        ``edited`` becomes the list on screen when ``shown`` is the list on screen; an edit
        of a list that has been replaced since (a turn answered meanwhile) only takes the
        removed items off the current list, which it must not bring back.
        """
        removed = [i for i in shown if i not in edited]
        if set(shown) == set(self.shown) or not self.shown:
            self.shown = list(dict.fromkeys(edited))
        else:
            self.shown = [i for i in self.shown if i not in removed]
        self.ever_shown = list(dict.fromkeys([*self.ever_shown, *self.shown]))
        self.disliked += [i for i in removed if i not in self.disliked]
        self.liked = [i for i in self.liked if i not in removed]
        if self.focus in removed:
            self.focus = None
        return removed

    def remember(self, role: str, text: str, keep: int = 8) -> None:
        self.history.append({"role": role, "text": text})
        del self.history[:-keep]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conversation:
        data = dict(data)
        data["constraints"] = Constraints(**data.get("constraints") or {})
        for k in ("accepted", "rejected"):
            data[k] = [tuple(a) for a in data.get(k) or []]
        if data.get("pending"):
            data["pending"] = tuple(data["pending"])
        return cls(**data)
