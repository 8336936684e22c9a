"""What a person sees while a turn works: a short label per step ("Looking for funny movies
from the 90s…"), sent as the step starts or ends, so the wait reads as work being done."""

from __future__ import annotations

from typing import Any

from agent.manager.conversation import Conversation
from recsys.catalog import Catalog
from recsys.titles import short_title


def label(step: dict[str, Any], conv: Conversation, catalog: Catalog) -> str:
    """The words for one tool step of the candidate bus."""
    from agent.manager.wording import request_phrase

    tool, args = step.get("tool", ""), step.get("args") or {}
    items = catalog.words.items if catalog.words.items != "items" else "items"
    if tool == "filter_items":
        return f"Looking for {request_phrase(catalog, conv.constraints)}…"
    if tool == "search_items":
        return f"Searching the descriptions for “{str(args.get('query', ''))[:60]}”…"
    if tool == "similar_items":
        ref = str(args.get("item", ""))
        name = short_title(catalog.titles[catalog.item_index[ref]]) \
            if ref in catalog.item_index else "that"
        return f"Finding {items} like {name}…"
    if tool == "rank_items":
        return "Ranking them for you…"
    if tool == "explain":
        return "Working out why…"
    if tool == "ask_attribute":
        return "Thinking of a good question…"
    if tool in ("item_details", "lookup", "get_item"):
        return "Looking it up…"
    return f"{tool.replace('_', ' ').capitalize()}…"
