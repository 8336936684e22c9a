"""Remembered preferences in a turn: applied to the list, yielding to what the message asks."""

from __future__ import annotations

from typing import Any

from agent.manager import Manager

NO_HORROR = {"id": 1, "text": "no Horror", "context": "movie night with my kids",
             "similarity": 0.9, "rule": {"exclude": {"genre": ["Horror"]}}}
OLD_ONES_OFF = {"id": 2, "text": "nothing before 1990", "context": "with friends",
                "similarity": 0.8, "rule": {"ranges": {"year": [1990, None]}}}


def _genres(out: dict[str, Any]) -> set[str]:
    return {g for c in out["items"] or [] for g in c["attributes"]["genre"]}


def test_a_remembered_exclusion_keeps_its_values_off_the_list(template_manager: Manager
                                                               ) -> None:
    text = "any movies from the 90s with my parents"
    plain = template_manager.respond(template_manager.start(None), text)
    assert "Horror" in _genres(plain)
    conv = template_manager.start(None)
    seen: list[str] = []

    def recall(context: str) -> list[dict[str, Any]]:
        seen.append(context)
        return [NO_HORROR]

    out = {"items": None}
    for ev in template_manager.turn(conv, text, recall=recall):
        if ev.type == "items":
            out["items"] = ev.data["items"]
        elif ev.type == "done":
            out.update(ev.data)
    assert out["items"] and "Horror" not in _genres(out)
    assert seen == ["with my parents"]  # by the request's situation, not its genre or years
    assert out["text"].startswith("Remembering: no Horror (from “movie night with my kids”).")
    assert [m["text"] for m in out["memory"]] == ["no Horror"]


def test_what_the_message_asks_for_wins_over_what_was_remembered(template_manager: Manager
                                                                 ) -> None:
    conv = template_manager.start(None)
    events = list(template_manager.turn(conv, "some horror", recall=lambda c: [NO_HORROR]))
    items = next(e.data["items"] for e in events if e.type == "items")
    done = events[-1].data
    assert {g for c in items for g in c["attributes"]["genre"]} == {"Horror"}
    assert done["memory"] == [] and "Remembering" not in done["text"]


def test_a_remembered_year_bound_applies_unless_the_message_names_years(
        template_manager: Manager) -> None:
    conv = template_manager.start(None)
    events = list(template_manager.turn(conv, "some comedy", recall=lambda c: [OLD_ONES_OFF]))
    items = next(e.data["items"] for e in events if e.type == "items")
    assert items and all(c["year"] >= 1990 for c in items)
    conv = template_manager.start(None)
    events = list(template_manager.turn(conv, "a comedy from the 60s",
                                        recall=lambda c: [OLD_ONES_OFF]))
    items = next(e.data["items"] for e in events if e.type == "items")
    assert items and all(1960 <= c["year"] <= 1969 for c in items)
    assert events[-1].data["memory"] == []


def test_the_model_that_words_the_reply_is_told_what_was_remembered(make_manager: Any,
                                                                      fake: Any) -> None:
    """With a model writing the opening, the learned preference is in its prompt's facts."""
    fake.fallback = "Here are some picks for you."
    manager = make_manager(fake)
    conv = manager.start(None)
    list(manager.turn(conv, "any movies from the 90s with my parents",
                      recall=lambda c: [NO_HORROR]))
    prompts = [c.last_user for c in fake.calls]
    assert any("Remembering: no Horror" in p for p in prompts), prompts
