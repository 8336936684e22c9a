"""Recommender tools on a candidate bus: a registry, an executor and the ``Tool`` contract.

    tool = get_tool("filter_items")
    execute("filter_items", {"include": {"genre": ["Comedy"]}}, ctx)  # errors -> {"error"}
"""

from __future__ import annotations

from functools import cache
from typing import Any

from agent.tools.base import Tool, ToolError
from agent.tools.bus import BusStep, CandidateBus, ToolContext
from recsys.errors import UnknownNameError


@cache
def _registry() -> dict[str, Tool]:
    from agent.tools.ask import AskAttribute
    from agent.tools.explain import Explain
    from agent.tools.filter import FilterItems
    from agent.tools.lookup import LookupItem
    from agent.tools.rank import RankItems
    from agent.tools.search import SearchItems
    from agent.tools.similar import SimilarItems

    tools = [cls() for cls in (FilterItems, SearchItems, RankItems, AskAttribute, LookupItem,
                               Explain, SimilarItems)]
    return {t.name: t for t in tools}


def available_tools() -> list[str]:
    """Names of every registered tool."""
    return list(_registry())


def get_tool(name: str) -> Tool:
    """The tool called ``name``; an unknown name lists the valid ones."""
    try:
        return _registry()[name]
    except KeyError:
        raise UnknownNameError("tool", name, available_tools()) from None


def openai_tools(names: list[str] | None = None) -> list[dict[str, Any]]:
    """OpenAI function-tool specs of ``names`` (default: every tool)."""
    return [get_tool(n).to_openai() for n in (names or available_tools())]


def execute(name: str, args: Any, ctx: ToolContext) -> dict[str, Any]:
    """Run a tool the model asked for; its mistakes come back as ``{"error": ...}``."""
    try:
        tool = get_tool(name)
    except UnknownNameError as e:
        ctx.bus.record(name, args, 0, 0.0, error=str(e))
        return {"error": str(e)}
    try:
        return tool.invoke(args, ctx)
    except ToolError as e:
        return {"error": str(e)}


__all__ = ["BusStep", "CandidateBus", "Tool", "ToolContext", "ToolError", "available_tools",
           "execute", "get_tool", "openai_tools"]
