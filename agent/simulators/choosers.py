"""Who picks from an exposure list as the real user did: the contract and the baselines.

A ``Chooser`` scores the options of a scene; its pick is the best score (ties broken at
random, seeded by the scene, so a chooser that cannot tell options apart scores 1/N). Choice
accuracy on held-out users' scenes is how well a simulator mirrors real choices.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from importlib import resources
from typing import Any, ClassVar, Self

import numpy as np

from agent.simulators.scenes import Scene, World


class Chooser(ABC):
    """Scores each option of a scene; higher = more likely the user's choice."""

    name: ClassVar[str]

    def fit(self, world: World, scenes: Sequence[Scene]) -> Self:
        """Learn from the train part (default: nothing to learn)."""
        self.world = world
        return self

    @abstractmethod
    def scores(self, scene: Scene, options: Sequence[int]) -> np.ndarray:
        """(len(options),) a score per option."""

    def pick(self, scene: Scene, options: Sequence[int]) -> int:
        """Index of the chosen option; ties broken by a draw seeded by the scene."""
        s = np.asarray(self.scores(scene, options), dtype=np.float64)
        best = np.flatnonzero(s >= s.max() - 1e-12)
        if len(best) == 1:
            return int(best[0])
        rng = np.random.default_rng([scene.user, scene.time & 0x7FFFFFFF, len(options), 7])
        return int(best[rng.integers(len(best))])


def hits(chooser: Chooser, views: Sequence[tuple[Scene, tuple[int, ...], int]]) -> np.ndarray:
    """(S,) 1 where ``chooser`` picks the real choice."""
    if not views:
        raise ValueError("no scenes to score")
    return np.array([chooser.pick(s, opts) == ans for s, opts, ans in views], dtype=np.float64)


def accuracy(chooser: Chooser, views: Sequence[tuple[Scene, tuple[int, ...], int]]) -> float:
    """Share of scenes where ``chooser`` picks the real choice."""
    return float(hits(chooser, views).mean())


def paired_gap(a: np.ndarray, b: np.ndarray, *, draws: int = 2000,
               seed: int = 0) -> dict[str, float]:
    """Mean of ``a - b`` over the same scenes, with a 95% bootstrap interval (by scene)."""
    if len(a) != len(b) or not len(a):
        raise ValueError("paired hits must be two equal, non-empty arrays")
    d = a - b
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), (draws, len(d)))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return {"gap": round(float(d.mean()), 4), "ci95": [round(float(lo), 4), round(float(hi), 4)]}


class RandomChooser(Chooser):
    """Every option equal: the tie-break draw decides (expected accuracy 1/N)."""

    name = "random"

    def scores(self, scene: Scene, options: Sequence[int]) -> np.ndarray:
        return np.zeros(len(options))


class PopularityChooser(Chooser):
    """The option most train users chose."""

    name = "popularity"

    def scores(self, scene: Scene, options: Sequence[int]) -> np.ndarray:
        return self.world.counts[list(options)]


class MFChooser(Chooser):
    """Implicit ALS (train users only) folded in from the scene's history."""

    name = "mf"

    def scores(self, scene: Scene, options: Sequence[int]) -> np.ndarray:
        als = self.world.als
        u = als.fold_in(list(scene.history))
        return als.item_factors[list(options)] @ u


def scene_prompt(world: World, scene: Scene, options: Sequence[int], *,
                 history: int = 12) -> str:
    """The scene as a person would read it: what they rated, then the numbered options."""
    from recsys.titles import item_name

    cat = world.catalog
    seen = list(zip(scene.history, scene.ratings, strict=True))[-history:]
    lines = ["Movies you rated, oldest first:"]
    for item, r in seen:
        rating = "" if np.isnan(r) else f" - you gave it {r:g}/5"
        lines.append(f"- {item_name(cat, item)}{rating}")
    lines.append("")
    lines.append("Which one of these do you watch next?")
    for k, item in enumerate(options, 1):
        genres = ", ".join(cat.item_attributes(item).get("genre", [])[:3])
        lines.append(f"{k}. {item_name(cat, item)}" + (f" ({genres})" if genres else ""))
    return "\n".join(lines)


def _prompt(name: str) -> str:
    return resources.files("agent.prompts").joinpath(name).read_text(encoding="utf-8")


class LLMChooser(Chooser):
    """A chat model asked zero-shot which option the user picks (JSON ``{"choice": k}``).

    A reply that fails its schema or names no option counts as no preference (a tie), so
    the figure is the model's, not the parser's.
    """

    name = "llm_zero_shot"

    def __init__(self, llm: Any, max_tokens: int = 16) -> None:
        self.llm = llm
        self.max_tokens = max_tokens
        self.failures = 0

    def scores(self, scene: Scene, options: Sequence[int]) -> np.ndarray:
        from agent.llm.base import LLMError, Message

        n = len(options)
        schema = {"type": "object", "required": ["choice"],
                  "properties": {"choice": {"type": "integer", "minimum": 1, "maximum": n}}}
        msgs = [Message.system(_prompt("choose.md")),
                Message.user(scene_prompt(self.world, scene, options))]
        out = np.zeros(n)
        try:
            res = self.llm.generate(msgs, schema=schema, max_tokens=self.max_tokens,
                                    temperature=0.0)
            k = int((res.json or json.loads(res.text))["choice"])
        except (LLMError, ValueError, KeyError, TypeError):
            self.failures += 1
            return out
        if 1 <= k <= n:
            out[k - 1] = 1.0
        else:
            self.failures += 1
        return out
