"""How a turn combines the preferences recalled for it: the merge, or the model when the
settings say so; what was applied is what the turn says it remembers."""

from __future__ import annotations

from typing import Any

from agent.llm.scripted import ScriptedChatModel
from agent.manager import Manager
from profiles.llm_aggregate import LLMAggregate
from recsys.settings import Settings

NO_HORROR = {"id": 1, "text": "no Horror", "context": "movie night with my kids",
             "similarity": 0.9, "rule": {"exclude": {"genre": ["Horror"]}}}
NO_COMEDY = {"id": 2, "text": "no Comedy", "context": "movie night with my kids, again",
             "similarity": 0.8, "rule": {"exclude": {"genre": ["Comedy"]}}}
OLD_ONES_OFF = {"id": 3, "text": "nothing before 1990", "context": "with friends",
                "similarity": 0.8, "rule": {"ranges": {"year": [1990, None]}}}
NEW_ONES_OFF = {"id": 4, "text": "nothing after 1979", "context": "a classic night",
                "similarity": 0.7, "rule": {"ranges": {"year": [None, 1979]}}}
ASK = "any movies from the 90s with my parents"
KEEP_HORROR_BAN = {"exclude": {"genre": ["Horror"]}, "less": {}, "ranges": {},
                   "statement": "no horror"}


def _turn(manager: Manager, recalled: list[dict[str, Any]], text: str = ASK
          ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    items: list[dict[str, Any]] = []
    done: dict[str, Any] = {}
    for ev in manager.turn(manager.start(None), text, recall=lambda c: recalled):
        if ev.type == "items":
            items = ev.data["items"]
        elif ev.type == "done":
            done = ev.data
    return done, items


def _genres(items: list[dict[str, Any]]) -> set[str]:
    return {g for c in items for g in c["attributes"]["genre"]}


def test_the_setting_puts_the_model_in_charge_and_the_turn_says_what_it_applied(
        make_manager: Any, settings: Settings) -> None:
    settings.profile_aggregate = "llm"
    fake = ScriptedChatModel([KEEP_HORROR_BAN], fallback="Here are some picks for you.")
    manager = make_manager(fake)
    assert isinstance(manager.aggregator, LLMAggregate)
    done, items = _turn(manager, [NO_HORROR, NO_COMEDY])
    # the aggregation is the turn's first model call
    assert fake.calls[0].last_user.startswith("Request:") and "no Comedy" in \
        fake.calls[0].last_user
    # the model kept "no Horror" and left "no Comedy" out: Comedy is back, and not claimed
    assert items and "Horror" not in _genres(items) and "Comedy" in _genres(items)
    assert [(m["text"], m["aggregated_by"]) for m in done["memory"]] == [("no Horror", "llm")]
    assert done["text"].startswith("Remembering: no Horror (from")
    assert "no Comedy" not in done["text"]


def test_by_default_the_merge_combines_them_and_no_model_is_asked(
        make_manager: Any) -> None:
    fake = ScriptedChatModel([], fallback="Here are some picks for you.")
    manager = make_manager(fake)
    assert manager.aggregator is None
    done, items = _turn(manager, [NO_HORROR, NO_COMEDY])
    assert not any(c.last_user.startswith("Request:") for c in fake.calls)
    assert items and not _genres(items) & {"Horror", "Comedy"}
    assert {(m["text"], m["aggregated_by"]) for m in done["memory"]} == {
        ("no Horror", "merge"), ("no Comedy", "merge")}


def test_an_unusable_aggregation_falls_back_to_the_merge_in_the_turn(
        make_manager: Any, settings: Settings) -> None:
    settings.profile_aggregate = "llm"
    invented = {"exclude": {"genre": ["Drama"]}, "less": {}, "ranges": {}}
    manager = make_manager(ScriptedChatModel([invented], fallback="Here you go."))
    done, items = _turn(manager, [NO_HORROR, NO_COMEDY])
    assert items and not _genres(items) & {"Horror", "Comedy"}  # merged: both bans
    assert {m["aggregated_by"] for m in done["memory"]} == {"merge"}
    assert manager.aggregator.tally.unusable["invented"] == 1


def test_a_bound_the_merge_replaced_is_not_claimed(template_manager: Manager) -> None:
    done, items = _turn(template_manager, [OLD_ONES_OFF, NEW_ONES_OFF], "some comedy")
    assert items and all(c["year"] <= 1979 for c in items)  # the newest bound wins
    assert [m["text"] for m in done["memory"]] == ["nothing after 1979"]


def test_the_planning_model_is_told_the_remembered_preferences(make_manager: Any) -> None:
    fake = ScriptedChatModel([], fallback="Here are some picks for you.")
    manager = make_manager(fake, planner="llm")
    _turn(manager, [NO_HORROR])
    plan = fake.calls[0]
    assert plan.tools  # the tool-calling planner's call
    assert "The person's remembered preferences for this request: no Horror" in plan.last_user
    fake2 = ScriptedChatModel([], fallback="Here are some picks for you.")
    _turn(make_manager(fake2, planner="llm"), [])
    assert "remembered" not in fake2.calls[0].last_user
