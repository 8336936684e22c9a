"""rank_items: order the candidates for this user (MF; popularity without history)."""

from __future__ import annotations

from typing import Any

import numpy as np

from agent.state import every_item
from agent.tools.base import Tool
from agent.tools.bus import ToolContext
from agent.tools.items import MAX_SHOWN, as_ids, cards
from recsys.errors import UnknownUserError
from recsys.models.base import Ranked


class RankItems(Tool):
    name = "rank_items"
    description = ("Rank the current candidates (or the whole catalog) for this user by "
                   "their taste; items already shown or turned down are left out. The top "
                   "items become the candidates.")
    inputs = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1, "maximum": MAX_SHOWN, "default": 10,
                  "description": "how many items to return"},
        },
        "additionalProperties": False,
    }
    moves_bus = True

    def run(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        cand, skip = as_ids(ctx.bus.sorted_items()), as_ids(ctx.shown_or_rejected())
        deferred = ctx.bus.deferred if cand is None else None
        if deferred is None:
            ranked, used = _rank(ctx, args["n"], cand, skip)
        else:  # a broad filter: the best of the whole catalog, checked until enough pass
            seen: dict[str, str] = {}

            def best(k: int) -> tuple[np.ndarray, np.ndarray]:
                r, seen["used"] = _rank(ctx, k, deferred.within, skip)
                return r.ids, r.scores

            ids, scores = deferred.best(args["n"], best)
            ranked, used = Ranked(ids.astype(np.int32), scores.astype(np.float32)), seen["used"]
        ctx.bus.set(ranked.ids)
        return {"model": used, "personalised": not used.startswith("popularity"),
                "items": cards(ctx.catalog, ranked.ids, ranked.scores)}


def _rank(ctx: ToolContext, n: int, cand: Any, skip: Any) -> tuple[Ranked, str]:
    """The best ``n`` of the candidates (None: every item) and the signal that ranked them."""
    ranked, used = None, "popularity"
    if ctx.seeds or ctx.boosts or ctx.request or ctx.user is None:
        ranked, used = _by_conversation(ctx, n, cand, skip)
    elif ctx.user is not None:
        model = ctx.model()
        try:
            ranked = model.recommend(ctx.user, n, candidates=cand, exclude=skip)
            used = model.name
        except UnknownUserError:
            ranked = None  # no history in the model: popularity is the honest fallback
    if ranked is None and ctx.liked and hasattr(ctx.model(), "fold_in"):
        # No history in the model, but likes in this chat: fold them into a user vector.
        model = ctx.model()
        vec = model.fold_in(list(ctx.liked))  # type: ignore[attr-defined]
        skip_all = np.union1d(np.asarray(skip, dtype=np.int64),
                              np.asarray(ctx.liked, dtype=np.int64))
        ranked = model.rank_for_vector(  # type: ignore[attr-defined]
            vec, n, candidates=None if cand is None else np.asarray(cand), exclude=skip_all)
        used = f"{model.name}+session"
    if ranked is None:
        pop = ctx.popular()
        # popularity ignores who asks; any valid index will do, and a new user saw nothing
        ranked = pop.recommend(0, n, candidates=cand, exclude=skip, filter_seen=False)
    return ranked, used


def _by_conversation(ctx: ToolContext, n: int, cand: Any, skip: Any) -> tuple[Any, str]:
    """Rank by the whole conversation (seeds, soft wishes, the dialogue-learned prior); a
    known user's taste (MF, z-scored) is added to it."""
    from recsys.models.base import top_k

    ranker = ctx.session_ranker()
    scores = ranker.scores(ctx.seeds, ctx.boosts, ctx.request)  # float32: 1M items, 2 cores
    # "conversation": ranked by what this person said about items; wishes alone are not taste
    used = "conversation" if ctx.seeds or ctx.request else \
        "popularity+dialogues" if ranker.knowledge.dialogues else "popularity"
    seen = np.zeros(0, np.int64)
    if ctx.user is not None:
        try:
            model = ctx.model()
            z = _taste(model, ctx.user)
            s = model.seen
            seen = s.indices[s.indptr[ctx.user]:s.indptr[ctx.user + 1]]  # known already
            if z is not None:
                scores += z
                used = f"{model.name}+{used}"
        except UnknownUserError:
            pass
    off = np.concatenate([np.asarray(skip, np.int64), np.asarray(seen, np.int64),
                          np.fromiter((*(i for i, w in ctx.seeds.items() if w != 0),
                                       *ctx.request), np.int64)])
    if cand is None:  # the whole catalog: rule out by score, gathering 1M ids costs more
        scores[off] = -np.inf
        best = top_k(every_item(len(scores)), scores, n)
        ok = np.isfinite(best.scores)
        return Ranked(best.ids[ok], best.scores[ok]), used
    c = np.asarray(cand, np.int64)
    ids = c[~np.isin(c, off)]
    return top_k(ids, scores[ids], n), used


TASTE_KEPT = 16  # known users whose z-scored MF scores are kept (4 MB each at 1M items)


def _taste(model: Any, user: int) -> np.ndarray | None:
    """A known user's MF scores over every item, z-scored (None when they are all alike);
    kept for the chat's next turns: a user's taste does not change within a conversation,
    and scoring 1M items costs ~20 ms."""
    from recsys.kept import Kept

    kept = model.__dict__.get("_taste_kept")
    if kept is None:
        kept = model.__dict__.setdefault("_taste_kept", Kept(TASTE_KEPT))

    def z() -> np.ndarray | None:
        mf = np.asarray(model.score(user), np.float32)
        sd = mf.std()
        if not sd > 0:
            return None
        out = (mf - mf.mean()) / sd
        out.flags.writeable = False
        return out

    # the model object identifies the fit: a retrained model is a new object
    return kept.get(int(user), z)
