"""A choice scene as text for a language model: the history, then lettered options with facts.

Both the teacher (which writes rationales) and the LM simulator (which learns from them) read
the same text. Each option carries catalog facts a user could know or sense at exposure time,
never the answer: genres and year, and three ranks within the list (1 = most): how many other
(train) users chose it, how like the history it is by genre/people/keywords, and how much its
audience overlaps the audience of the history's items. Letters, not numbers, label options so
each label is one token (" A" ... " J") and "10" is not two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent.simulators.scenes import Scene, World

LABELS = "ABCDEFGHIJ"


def option_ranks(world: World, scene: Scene, options: Sequence[int]) -> dict[str, np.ndarray]:
    """Per option, its rank in the list (1 = highest) by popularity, content and audience."""
    from agent.simulators.choice_model import FEATURES, option_features

    x = option_features(world, scene, options)
    cols = {"popularity": "log_count", "content": "content_centroid", "audience": "cooc_mean"}
    out = {}
    for name, col in cols.items():
        v = x[:, FEATURES.index(col)]
        out[name] = (-v).argsort(kind="stable").argsort() + 1
    return out


def scene_text(world: World, scene: Scene, options: Sequence[int], *, history: int = 8) -> str:
    """The user's recent ratings and the lettered options with their facts (module doc)."""
    from recsys.titles import item_name

    if not 2 <= len(options) <= len(LABELS):
        raise ValueError(f"a scene text holds 2 to {len(LABELS)} options, got {len(options)}")
    cat = world.catalog
    lines = ["Movies you rated, oldest first:"]
    for item, r in list(zip(scene.history, scene.ratings, strict=True))[-history:]:
        lines.append(f"- {item_name(cat, item)}" + ("" if np.isnan(r) else f": {r:g}/5"))
    ranks = option_ranks(world, scene, options)
    lines += ["", f"Options (ranks among these {len(options)}, 1 = most: pop = chosen by "
              "most people, genre = most like your movies, fans = most shared audience):"]
    for k, item in enumerate(options):
        genres = ", ".join(cat.item_attributes(item).get("genre", [])[:3])
        lines.append(f"{LABELS[k]}. {item_name(cat, item)}" + (f" [{genres}]" if genres else "")
                     + f" pop {ranks['popularity'][k]}, genre {ranks['content'][k]},"
                     f" fans {ranks['audience'][k]}")
    return "\n".join(lines)
