"""similar_items: items like a given one, by the MF model (taste) or by text (content)."""

from __future__ import annotations

from typing import Any

from agent.tools.base import Tool, ToolError
from agent.tools.bus import ToolContext
from agent.tools.items import ITEM_REF, MAX_SHOWN, cards, resolve_item
from recsys.errors import UnknownItemError


class SimilarItems(Tool):
    name = "similar_items"
    description = ("Items similar to a given item: 'model' = liked by the same people "
                   "(needs ratings of the item), 'text' = close in description. The similar "
                   "items become the candidates.")
    inputs = {
        "type": "object",
        "properties": {
            "item": ITEM_REF,
            "n": {"type": "integer", "minimum": 1, "maximum": MAX_SHOWN, "default": 10},
            "by": {"type": "string", "enum": ["model", "text"], "default": "model"},
        },
        "required": ["item"],
        "additionalProperties": False,
    }
    moves_bus = True

    def run(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        i = resolve_item(ctx.catalog, args["item"])
        n = args["n"]
        if args["by"] == "model":
            try:
                found = ctx.model().similar_items(i, n)
            except UnknownItemError as e:
                raise ToolError(f"similar_items: {e}; call it again with by='text'") from None
        else:
            found = ctx.semantic_index().similar_items(i, n)
        ctx.bus.set(found.ids)
        return {"by": args["by"], "of": {"id": ctx.catalog.item_ids[i],
                                         "title": ctx.catalog.titles[i]},
                "items": cards(ctx.catalog, found.ids, found.scores)}
