"""Dialogue state shared by every policy (graph, baselines, the LLM manager) and the evaluator.

The state keeps hard facts only: what the user stated in their own words narrows
``candidates`` (the candidate bus), and so do items they turned down; answers to the
system's questions are recorded in ``accepted`` / ``rejected`` and each policy decides what to
make of them (a noisy user's answer is evidence, not a filter).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from recsys.graph import Attribute  # (field, value), e.g. ("tag", "1234")


@dataclass(frozen=True)
class TurnRecord:
    """What happened in one turn (1-based; the user's opening statement is turn 1)."""

    turn: int
    kind: str  # "state" (user volunteered attributes), "ask" or "recommend"
    attributes: tuple[Attribute, ...] = ()
    answers: tuple[bool, ...] = ()  # one per asked attribute
    items: tuple[int, ...] = ()  # recommended items, best first
    rank: int | None = None  # 1-based rank of the accepted item, when one was accepted


@dataclass
class DialogueState:
    """Where a conversation stands; every policy reads it, the dialogue loop updates it."""

    user: int
    candidates: np.ndarray  # (C,) int32 sorted item indices still in play (hard facts only)
    max_turns: int = 15
    list_size: int = 10
    turn: int = 0
    stated: list[Attribute] = field(default_factory=list)  # volunteered by the user
    accepted: list[Attribute] = field(default_factory=list)  # stated + accepted answers
    rejected: list[Attribute] = field(default_factory=list)
    recommended: list[int] = field(default_factory=list)  # every item shown, in order
    rejected_items: list[int] = field(default_factory=list)
    history: list[TurnRecord] = field(default_factory=list)

    @classmethod
    def start(cls, user: int, n_items: int, *, max_turns: int = 15, list_size: int = 10
              ) -> DialogueState:
        """A fresh conversation in which every item is a candidate."""
        return cls(user=int(user), candidates=every_item(n_items),
                   max_turns=max_turns, list_size=list_size)

    @property
    def asked(self) -> set[Attribute]:
        """Attributes whose answer is known (stated, accepted or rejected)."""
        return set(self.accepted) | set(self.rejected)

    @property
    def answered(self) -> list[tuple[Attribute, bool]]:
        """Answers to the system's questions, in order (stated attributes excluded)."""
        out = []
        for rec in self.history:
            if rec.kind == "ask":
                out += list(zip(rec.attributes, rec.answers, strict=True))
        return out

    @property
    def turns_left(self) -> int:
        return self.max_turns - self.turn

    @property
    def is_last_turn(self) -> bool:
        """True when the next action is the last one the user will wait for."""
        return self.turns_left <= 1

    def record_statement(self, attributes: Sequence[Attribute], items_having: np.ndarray
                         ) -> None:
        """The user volunteered ``attributes``; ``items_having`` = items that have them all."""
        self.turn += 1
        attrs = tuple(attributes)
        self.stated += attrs
        self.accepted += attrs
        self.candidates = np.intersect1d(self.candidates, items_having).astype(np.int32)
        self.history.append(TurnRecord(self.turn, "state", attributes=attrs))

    def record_answers(self, attributes: Sequence[Attribute], answers: Sequence[bool]) -> None:
        """The user answered a question about ``attributes`` (one yes/no each)."""
        if len(attributes) != len(answers):
            raise ValueError(f"{len(attributes)} attributes asked but {len(answers)} answers")
        self.turn += 1
        for a, yes in zip(attributes, answers, strict=True):
            (self.accepted if yes else self.rejected).append(a)
        self.history.append(TurnRecord(self.turn, "ask", attributes=tuple(attributes),
                                        answers=tuple(bool(x) for x in answers)))

    def record_recommendation(self, items: Sequence[int], rank: int | None) -> None:
        """The system showed ``items``; ``rank`` is the accepted one's 1-based rank, or None."""
        self.turn += 1
        shown = tuple(int(i) for i in items)
        self.recommended += shown
        if rank is None:
            self.rejected_items += shown
            self.candidates = np.setdiff1d(self.candidates, shown,
                                           assume_unique=True).astype(np.int32)
        self.history.append(TurnRecord(self.turn, "recommend", items=shown, rank=rank))


@functools.lru_cache(maxsize=4)
def every_item(n_items: int) -> np.ndarray:
    """0..n-1, shared by every fresh state and read-only: a chat turn starts two states,
    and building 1M indices each time cost 2 ms of it."""
    out = np.arange(n_items, dtype=np.int32)
    out.flags.writeable = False
    return out
