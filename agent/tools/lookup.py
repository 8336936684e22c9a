"""lookup_item: the facts the catalog holds about one item."""

from __future__ import annotations

from typing import Any

from agent.tools.base import Tool
from agent.tools.bus import ToolContext
from agent.tools.items import ITEM_REF, card, resolve_item


class LookupItem(Tool):
    name = "lookup_item"
    description = ("Facts about one item from the catalog: id, title, year, its attribute "
                   "values by field (genre, people, ratings), numbers such as runtime and "
                   "free text such as an overview. Use it before stating anything about an "
                   "item.")
    inputs = {
        "type": "object",
        "properties": {"item": ITEM_REF,
                       "max_values": {"type": "integer", "minimum": 1, "maximum": 100,
                                      "default": 10,
                                      "description": "attribute values listed per field"}},
        "required": ["item"],
        "additionalProperties": False,
    }

    def run(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        cat = ctx.catalog
        i = resolve_item(cat, args["item"])
        out = card(cat, i)
        out["attributes"] = {f: v[:args["max_values"]]
                             for f, v in cat.item_attributes(i).items()}
        if cat.texts[i]:
            out["text"] = str(cat.texts[i])
        numbers = {f: v for f in cat.numbers if (v := cat.number(f, i)) is not None}
        if numbers:
            out["numbers"] = {f: {"value": v, "unit": cat.info(f).unit} for f, v in
                              numbers.items()}
        notes = {f: t for f in cat.notes if (t := cat.note(f, i))}
        if notes:
            out["notes"] = notes
        return out
