"""A choice scene as text for a language model: the history, then lettered options with facts.

Both the teacher (which writes rationales) and the LM simulator (which learns from them) read
the same text. Each option carries catalog facts a deployment has at exposure time, never the
answer: its year and genres, and five ranks within the list (1 = most): by taste (the MF score
folded in from the history: people who rate like this user), fans (audience shared with the
history's items), pop (chosen by most train users), trend (chosen most in the 90 days before),
genre (like the history by genre, people and keywords). Ranks, not raw scores, because a small
LM reads a one-token integer far more reliably than a float. The text is compact on purpose: a
135M model fine-tunes at about 70 tokens a second on two cores. Letters, not numbers, label
options so each label is one token (" A" ... " L") and "10" is not two.

Those five ranks tell a reader nothing MF's does not: a conditional logit over all five, fit on
8,171 train scenes of ML small, picks as MF does (``ranks_chooser.py``; held-out 0.700 against
MF's 0.700 at N=5). So the ranks give a reader nothing beyond MF's rank to learn. The learned
choice model's rank (``fit``) carries what it reads from thirteen features; the LM simulator
shows it first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent.simulators.scenes import Scene, World

LABELS = "ABCDEFGHIJKL"  # lists of 10 plus the target when a user judges a list
# rank name -> choice-model feature it orders by
RANKS = {"taste": "mf_score", "fans": "cooc_mean", "pop": "log_count",
         "trend": "log_recent_90d", "genre": "content_centroid"}


def option_ranks(world: World, scene: Scene, options: Sequence[int]) -> dict[str, np.ndarray]:
    """Per option, its rank in the list (1 = highest) by each of ``RANKS``."""
    from agent.simulators.choice_model import FEATURES, option_features

    x = option_features(world, scene, options)
    out = {}
    for name, col in RANKS.items():
        v = x[:, FEATURES.index(col)]
        out[name] = (-v).argsort(kind="stable").argsort() + 1
    return out


def taste_order(world: World, scene: Scene, options: Sequence[int]) -> np.ndarray:
    """Indices of ``options`` best taste match first (the MF rank), as a recommender shows a
    list; ties keep the given order."""
    return np.argsort(option_ranks(world, scene, options)["taste"], kind="stable")


def fit_ranks(scores: Sequence[float]) -> np.ndarray:
    """Rank of each option (1 = best) by a chooser's scores; ties keep the given order."""
    return (-np.asarray(scores, dtype=np.float64)).argsort(kind="stable").argsort() + 1


def scene_text(world: World, scene: Scene, options: Sequence[int], *, history: int = 6,
               fit: Sequence[int] | None = None, facts: Sequence[str] = tuple(RANKS)) -> str:
    """The user's recent ratings and the lettered options with their facts (module doc).

    ``fit``, when given, is each option's rank by the learned choice model (``fit_ranks``),
    shown first; ``facts`` picks which of ``RANKS`` follow it.
    """
    from recsys.titles import item_name

    if not 2 <= len(options) <= len(LABELS):
        raise ValueError(f"a scene text holds 2 to {len(LABELS)} options, got {len(options)}")
    unknown = set(facts) - set(RANKS)
    if unknown:
        raise ValueError(f"unknown facts {sorted(unknown)}; valid: {list(RANKS)}")
    cat = world.catalog
    rated = [item_name(cat, item) + ("" if np.isnan(r) else f" {r:g}/5")
             for item, r in list(zip(scene.history, scene.ratings, strict=True))[-history:]]
    ranks = option_ranks(world, scene, options)
    fields = {name: ranks[name] for name in facts}
    if fit is not None:
        if sorted(int(k) for k in fit) != list(range(1, len(options) + 1)):
            raise ValueError(f"fit must rank the {len(options)} options 1..{len(options)}")
        fields = {"fit": np.asarray(fit), **fields}
    meaning = {"fit": "fit (how likely people with ratings like yours pick it, learned from "
                      "real choices)",
               "taste": "taste (people who rate like you)", "fans": "fans (shared audience)",
               "pop": "pop (chosen overall)", "trend": "trend (chosen lately)",
               "genre": "genre (like your movies)"}
    lines = ["You rated, oldest first: " + "; ".join(rated) + ".",
             f"Options, ranked among these {len(options)} (1 = most) by "
             + ", ".join(meaning[name] for name in fields) + ":"]
    for k, item in enumerate(options):
        genres = "/".join(cat.item_attributes(item).get("genre", [])[:3])
        lines.append(f"{LABELS[k]}. {item_name(cat, item)}" + (f" {genres}" if genres else "")
                     + " | " + " ".join(f"{name} {v[k]}" for name, v in fields.items()))
    return "\n".join(lines)
