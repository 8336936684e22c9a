"""The model's aggregation of recalled preferences: used only when it invents nothing."""

from __future__ import annotations

from typing import Any

from agent.llm.scripted import ScriptedChatModel, Timeout
from profiles.llm_aggregate import LLMAggregate, checked, describe_recalled
from profiles.rules import Rule, merge, part_of
from tests.agent.manager.conftest import movie_catalog

CAT = movie_catalog()  # genre: Action, Comedy, Drama, Horror; years 1950-2020
KIDS: dict[str, Any] = {
    "id": 1, "text": "no Horror", "context": "movie night with my kids", "similarity": 0.9,
    "rule": {"exclude": {"genre": ["Horror"]}}, "learned_at": "2026-11-02T20:00:00"}
FRIENDS: dict[str, Any] = {
    "id": 2, "text": "nothing before 1990", "context": "with friends", "similarity": 0.7,
    "rule": {"ranges": {"year": [1990, None]}}, "learned_at": "2026-11-20T21:00:00"}
CLASSIC: dict[str, Any] = {
    "id": 3, "text": "nothing after 1979", "context": "a classic film night", "similarity": 0.6,
    "rule": {"ranges": {"year": [None, 1979]}}}
FEWER: dict[str, Any] = {
    "id": 4, "text": "fewer Horror", "context": "with my kids", "similarity": 0.8,
    "rule": {"less": {"genre": ["Horror"]}}}


def _aggregate(reply: Any, recalled: list[dict[str, Any]]
               ) -> tuple[Rule, str, LLMAggregate, ScriptedChatModel]:
    llm = ScriptedChatModel([reply])
    agg = LLMAggregate(llm)
    rule, by = agg.aggregate(CAT, "a comedy for movie night with the kids", recalled)
    return rule, by, agg, llm


def _merged(recalled: list[dict[str, Any]]) -> Rule:
    return merge([Rule.from_json(m["rule"]) for m in recalled])


def test_a_valid_aggregation_is_applied_and_the_prompt_has_every_recalled_preference() -> None:
    rule, by, agg, llm = _aggregate(
        {"exclude": {"genre": ["horror"]}, "less": {}, "ranges": {},
         "statement": "no horror with the kids"}, [KIDS, FRIENDS])
    # the model left the friends' bound out: this is a night with the kids
    assert by == "llm" and rule == Rule(exclude={"genre": ["Horror"]})
    assert agg.tally.to_json()["by_llm"] == 1 and agg.tally.to_json()["unusable_total"] == 0
    prompt = llm.calls[0].last_user
    assert prompt.startswith("Request: a comedy for movie night with the kids")
    for m in (KIDS, FRIENDS):
        assert m["text"] in prompt and m["context"] in prompt
    assert "on 2026-11-02" in prompt and '"exclude": {"genre": ["Horror"]}' in prompt


def test_an_invented_value_or_bound_falls_back_to_the_merge() -> None:
    for reply in ({"exclude": {"genre": ["Drama"]}, "less": {}, "ranges": {}},  # not recalled
                  {"exclude": {"mood": ["grim"]}, "less": {}, "ranges": {}},  # no such field
                  {"exclude": {"genre": ["Horror"]}, "less": {}, "ranges": {"year": [2000, None]}},
                  {"exclude": {}, "less": {"genre": ["Noir"]}, "ranges": {}}):  # no such value
        rule, by, agg, _ = _aggregate(reply, [KIDS, FRIENDS])
        assert by == "merge" and rule == _merged([KIDS, FRIENDS]), reply
        assert agg.tally.unusable["invented"] == 1
    # a value only ranked down before stays ranked down; an empty list says nothing
    assert checked(CAT, {"exclude": {"genre": ["Horror"]}, "less": {"year": []}},
                   [Rule.from_json(FEWER["rule"])]) == (Rule(less={"genre": ["Horror"]}), "")


def test_malformed_json_a_timeout_or_an_empty_answer_fall_back_to_the_merge() -> None:
    for reply, why in (("not json at all", "malformed"), (Timeout(0.0), "timeout"),
                       ({"exclude": "Horror", "less": {}, "ranges": {}}, "malformed"),
                       ({"exclude": {}, "less": {}, "ranges": {}}, "empty")):
        rule, by, agg, _ = _aggregate(reply, [KIDS, FRIENDS])
        assert by == "merge" and rule == _merged([KIDS, FRIENDS]), reply
        assert agg.tally.unusable[why] == 1, reply


def test_a_conflict_may_be_reconciled_but_not_into_a_contradiction() -> None:
    recalled = [FRIENDS, CLASSIC]  # the newest bound wins a merge: nothing after 1979
    assert _merged(recalled) == Rule(ranges={"year": [None, 1979]})
    rule, by, _, _ = _aggregate({"exclude": {}, "less": {}, "ranges": {"year": [1990, None]}},
                                recalled)
    assert by == "llm" and rule == Rule(ranges={"year": [1990.0, None]})
    # both bounds at once: no film could pass; the merge answers
    rule, by, agg, _ = _aggregate({"exclude": {}, "less": {}, "ranges": {"year": [1990, 1979]}},
                                  recalled)
    assert by == "merge" and rule == Rule(ranges={"year": [None, 1979]})
    assert agg.tally.unusable["invented"] == 1
    # a ban and a later "fewer": the merge ranks down, the model may keep the ban
    assert _merged([KIDS, FEWER]) == Rule(less={"genre": ["Horror"]})
    rule, by, _, _ = _aggregate({"exclude": {"genre": ["Horror"]}, "less": {"genre": ["Horror"]},
                                 "ranges": {}}, [KIDS, FEWER])
    assert by == "llm" and rule == Rule(exclude={"genre": ["Horror"]})


def test_one_preference_or_raw_items_only_leave_nothing_for_the_model() -> None:
    llm = ScriptedChatModel([])
    agg = LLMAggregate(llm)
    assert agg.aggregate(CAT, "x", [KIDS]) == (Rule(exclude={"genre": ["Horror"]}), "merge")
    raw = [{"id": i, "text": "not these", "context": "", "rule": {"items": [str(i)]}}
           for i in (1, 2)]
    assert agg.aggregate(CAT, "x", raw)[1] == "merge"
    assert llm.calls == [] and agg.tally.calls == 0


def test_the_part_of_a_preference_that_was_applied() -> None:
    applied = Rule(less={"genre": ["Horror"]}, ranges={"year": [None, 1979]})
    assert part_of(Rule.from_json(KIDS["rule"]), applied) == Rule(less={"genre": ["Horror"]})
    assert part_of(Rule.from_json(FRIENDS["rule"]), applied).empty  # replaced
    assert part_of(Rule.from_json(CLASSIC["rule"]), applied) == Rule.from_json(CLASSIC["rule"])


def test_the_prompt_says_who_stated_a_preference_without_context() -> None:
    text = describe_recalled(CAT, "", [{"text": "no horror", "context": "",
                                        "rule": {"exclude": {"genre": ["Horror"]}}}])
    assert text.startswith("Request: (none)") and "said by the person" in text
