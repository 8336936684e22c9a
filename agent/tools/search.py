"""search_items: soft, free-text wishes ranked by meaning (semantic index over item texts)."""

from __future__ import annotations

from typing import Any

import numpy as np

from agent.tools.base import Tool
from agent.tools.bus import ToolContext
from agent.tools.items import MAX_SHOWN, as_ids, cards
from recsys.models.base import Ranked


class SearchItems(Tool):
    name = "search_items"
    description = ("Find the items whose description is closest in meaning to a free-text "
                   "wish (mood, plot, style), among the current candidates when there are "
                   "any. The best matches become the candidates.")
    inputs = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1,
                      "description": "what the user wants, in their words"},
            "k": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50,
                  "description": "how many of the best matches to keep as candidates"},
            "show": {"type": "integer", "minimum": 0, "maximum": MAX_SHOWN, "default": 10,
                     "description": "how many of them to list"},
        },
        "required": ["query"],
        "additionalProperties": False,
    }
    moves_bus = True

    def run(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        index, cand = ctx.semantic_index(), as_ids(ctx.bus.sorted_items())
        skip = as_ids(ctx.shown_or_rejected())
        if cand is None and ctx.bus.deferred is not None:
            # a broad filter: the closest of the whole catalog, checked until enough pass
            def best(k: int) -> tuple[np.ndarray, np.ndarray]:
                r = index.search(args["query"], k, exclude=skip)
                return r.ids, r.scores

            ids, scores = ctx.bus.deferred.best(args["k"], best)
            found = Ranked(ids.astype(np.int32), scores.astype(np.float32))
        else:
            found = index.search(args["query"], args["k"], candidates=cand, exclude=skip)
        ctx.bus.set(found.ids)
        n = args["show"]
        return {"count": len(found),
                "items": cards(ctx.catalog, found.ids[:n], found.scores[:n])}
