"""Plan-first tool calling by the model: same tools, same trace shape, errors as observations."""

from __future__ import annotations

from collections.abc import Callable

from agent.llm.base import ToolCall
from agent.llm.scripted import ScriptedChatModel
from agent.manager import Manager


def test_model_plans_the_tools(make_manager: Callable[..., Manager]) -> None:
    llm = ScriptedChatModel([
        ToolCall("c1", "filter_items", {"include": {"genre": ["Comedy"]}, "show": 0}),
        ToolCall("c2", "rank_items", {"n": 5}),
        "done",  # no tool call: planning ends
        "Here are five Comedy picks.",  # the reply
    ], name="fake")
    m = make_manager(llm, planner="llm")
    r = m.respond(m.start(None), "a comedy, please")
    assert [s["tool"] for s in r["trace"]] == ["filter_items", "rank_items"]
    assert r["action"] == "recommend" and len(r["items"]) == 5
    for card in r["items"]:
        assert "Comedy" in card["attributes"]["genre"]
    assert llm.calls[0].tools and {t["function"]["name"] for t in llm.calls[0].tools} >= {
        "filter_items", "rank_items", "explain"}
    # the tool results went back to the model as tool messages
    assert [m.role for m in llm.calls[2].messages][-2:] == ["assistant", "tool"]

    # the rule planner leaves the same trace for the same request
    rules = make_manager(None, planner="rules")
    r2 = rules.respond(rules.start(None), "a comedy, please")
    assert [s["tool"] for s in r2["trace"]] == ["filter_items", "rank_items"]
    assert [c["id"] for c in r2["items"]] == [c["id"] for c in r["items"]]


def test_bad_tool_calls_become_observations(make_manager: Callable[..., Manager]) -> None:
    llm = ScriptedChatModel([
        ToolCall("c1", "filter_items", {"include": {"genre": ["Westerns"]}}),  # no such value
        ToolCall("c2", "no_such_tool", {}),
        ToolCall("c3", "filter_items", {"include": {"genre": ["Drama"]}, "show": 0}),
        "",  # done; the model forgot rank_items: the manager ranks what it found
        "Here are some Drama picks.",
    ], name="fake")
    m = make_manager(llm, planner="llm")
    r = m.respond(m.start(None), "a drama")
    tools = [(s["tool"], "error" in s) for s in r["trace"]]
    assert tools[:3] == [("filter_items", True), ("no_such_tool", True), ("filter_items", False)]
    assert "has no value 'Westerns'" in llm.calls[1].messages[-1].content
    assert r["action"] == "recommend"
    for card in r["items"]:
        assert "Drama" in card["attributes"]["genre"]


def test_planner_steps_are_bounded(make_manager: Callable[..., Manager]) -> None:
    loop = ToolCall("c", "ask_attribute", {})
    llm = ScriptedChatModel([loop] * 6, fallback="Which do you prefer?", name="fake")
    m = make_manager(llm, planner="llm")
    r = m.respond(m.start("1"), "something good")
    assert len([s for s in r["trace"] if s["tool"] == "ask_attribute"]) == 6
    assert r["action"] == "ask"


def test_planner_failure_falls_back_to_rules(make_manager: Callable[..., Manager]) -> None:
    from agent.llm.base import LLMUnavailableError

    llm = ScriptedChatModel([LLMUnavailableError("server down")], fallback="Here you go.",
                            name="fake")
    m = make_manager(llm, planner="llm")
    r = m.respond(m.start(None), "a horror film")
    assert r["action"] == "recommend"
    assert [s["tool"] for s in r["trace"]] == ["filter_items", "rank_items"]
