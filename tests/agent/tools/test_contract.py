"""Every registered tool keeps the contract: valid schema, OpenAI spec, errors as ToolError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from agent.tools import (
    Tool,
    ToolContext,
    ToolError,
    available_tools,
    execute,
    get_tool,
    openai_tools,
)
from recsys.errors import UnknownNameError

# one good call per tool on the tiny catalog (item "1" is "Item 1", genres Action..Horror)
GOOD: dict[str, dict[str, Any]] = {
    "filter_items": {"include": {"genre": ["Comedy"]}, "year_min": 1950},
    "search_items": {"query": "Comedy tag03"},
    "rank_items": {"n": 5},
    "ask_attribute": {},
    "lookup_item": {"item": "1"},
    "explain": {"item": "2"},
    "similar_items": {"item": "Item 1", "by": "text"},
}
# a wrong call per tool: the model's mistake, answered with a message
BAD: dict[str, list[dict[str, Any]]] = {
    "filter_items": [{"include": {"colour": ["red"]}}, {"include": {"genre": ["Westerns"]}},
                     {"year_min": "1990"}, {"year_min": 2000, "year_max": 1990},
                     {"exclude_items": ["no-such-id"]}, {"bogus": 1}],
    "search_items": [{}, {"query": ""}, {"query": "x", "k": 0}],
    "rank_items": [{"n": 0}, {"n": "ten"}],
    "ask_attribute": [{"fields": ["colour"]}, {"fields": "genre"}],
    "lookup_item": [{}, {"item": "no such film"}, {"item": 3}],
    "explain": [{"item": "999999"}, {}],
    "similar_items": [{"item": "1", "by": "vibes"}, {"item": "nope"}],
}


def test_registry_lists_every_tool() -> None:
    assert set(available_tools()) == set(GOOD) == set(BAD)
    with pytest.raises(UnknownNameError, match="valid: .*filter_items"):
        get_tool("recommend_stuff")


@pytest.mark.parametrize("name", sorted(GOOD))
def test_schema_and_openai_spec(name: str) -> None:
    tool = get_tool(name)
    assert isinstance(tool, Tool) and tool.name == name
    Draft202012Validator.check_schema(tool.inputs)
    assert tool.inputs["type"] == "object"
    spec = tool.to_openai()
    assert spec["type"] == "function"
    assert set(spec["function"]) == {"name", "description", "parameters"}
    assert spec["function"]["name"] == name and spec["function"]["description"]
    json.dumps(spec)  # the spec goes over the wire as JSON
    assert spec in openai_tools()


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_call_returns_json_with_ids_and_titles(name: str, ctx: ToolContext) -> None:
    result = get_tool(name).invoke(GOOD[name], ctx)
    assert "error" not in result
    text = json.dumps(result)  # JSON-able: no numpy scalars or arrays
    assert json.loads(text) == result
    for item in _items(result):
        assert ctx.catalog.titles[ctx.catalog.item(item["id"])] == item["title"]


@pytest.mark.parametrize(("name", "args"), [(n, a) for n, bad in BAD.items() for a in bad])
def test_bad_arguments_raise_tool_error(name: str, args: dict[str, Any],
                                        ctx: ToolContext) -> None:
    with pytest.raises(ToolError) as err:
        get_tool(name).invoke(args, ctx)
    assert name in str(err.value) or "no item" in str(err.value)
    observed = execute(name, args, ctx)  # what the model sees instead of a crash
    assert observed == {"error": str(err.value)}
    assert ctx.bus.log[-1].error == str(err.value)


@pytest.mark.parametrize("name", available_tools())
@pytest.mark.parametrize("args", [{"not_an_argument": 1}, [], "[1, 2]", 42])
def test_any_tool_rejects_malformed_arguments(name: str, args: Any, ctx: ToolContext) -> None:
    with pytest.raises(ToolError):
        get_tool(name).invoke(args, ctx)
    assert "error" in execute(name, args, ctx)


def test_executor_answers_unknown_tools_and_bad_json(ctx: ToolContext) -> None:
    assert "valid:" in execute("delete_everything", {}, ctx)["error"]
    assert "not valid JSON" in execute("rank_items", "{n: 3", ctx)["error"]
    assert "items" in execute("rank_items", '{"n": 3}', ctx)  # a JSON string is accepted


def test_messages_say_what_is_valid(ctx: ToolContext) -> None:
    msg = execute("filter_items", {"include": {"colour": ["red"]}}, ctx)["error"]
    assert "genre" in msg and "tag" in msg
    msg = execute("filter_items", {"include": {"genre": ["comedi"]}}, ctx)["error"]
    assert "Comedy" in msg
    msg = execute("lookup_item", {"item": "Item 1O"}, ctx)["error"]
    assert "Item 10" in msg or "Item 1" in msg


def test_construction_validates_the_class() -> None:
    class Bad(Tool):
        name = "BadName"
        description = "x"
        inputs = {"type": "object"}

        def run(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
            return {}

    with pytest.raises(TypeError, match="snake_case"):
        Bad()

    class NotObject(Bad):
        name = "not_object"
        inputs = {"type": "array"}

    with pytest.raises(TypeError, match="object"):
        NotObject()

    class BadSchema(Bad):
        name = "bad_schema"
        inputs = {"type": "object", "properties": {"n": {"type": "integr"}}}

    with pytest.raises(TypeError, match="valid JSON schema"):
        BadSchema()


def _items(obj: Any) -> list[dict[str, Any]]:
    """Every dict in ``obj`` that names an item (has an id and a title)."""
    found = []
    if isinstance(obj, dict):
        if "id" in obj and "title" in obj:
            found.append(obj)
        for v in obj.values():
            found += _items(v)
    elif isinstance(obj, list):
        for v in obj:
            found += _items(v)
    return found
