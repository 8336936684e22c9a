"""Dialogue acts: what a message does, several per message, each with one effect."""

from __future__ import annotations

from collections.abc import Callable

from agent.manager import Manager
from agent.manager.acts import ACTS, RESPONSE_ORDER, Act


def acts_of(m: Manager, conv, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    out = m.respond(conv, text)
    return [a["act"] for a in out["acts"]]


def test_every_act_has_one_effect_and_a_place_in_the_answer_order() -> None:
    assert set(ACTS) == set(Act) and set(RESPONSE_ORDER) == set(Act)
    assert all(ACTS[a].strip() for a in Act)


def test_a_message_with_two_acts_does_both(template_manager: Manager) -> None:
    m, cat = template_manager, template_manager.catalog
    conv = m.start(None)
    m.respond(conv, "an action movie please")
    name = cat.titles[5].split(" (")[0]
    out = m.respond(conv, f"I've seen {name}, something from after 1990?")
    assert [a["act"] for a in out["acts"]] == ["seen", "refine"]
    assert cat.item_ids[5] in conv.seen and conv.constraints.year_min == 1991
    assert out["action"] == "recommend" and cat.item_ids[5] not in [c["id"] for c in
                                                                     out["items"]]
    assert conv.constraints.include == {"genre": ["Action"]}  # the refinement kept the rest


def test_acts_by_situation(make_manager: Callable[..., Manager]) -> None:
    m = make_manager(None)
    cat = m.catalog
    conv = m.start(None)
    assert acts_of(m, conv, "hello") == ["chitchat"]
    assert acts_of(m, conv, "a comedy please") == ["request"]
    assert acts_of(m, conv, "swap 2") == ["list_edit", "refine"]
    assert acts_of(m, conv, "not number 7") == ["no_such_position"]
    name = cat.titles[3].split(" (")[0]
    assert acts_of(m, conv, f"nothing like {name}") == ["negate_seed", "refine"]
    assert cat.item_ids[3] in conv.constraints.unlike
    conv.pending = ("genre", "Drama")
    out = m.respond(conv, "yes")
    assert [a["act"] for a in out["acts"]] == ["answer_yes"]
    assert ("genre", "Drama") in conv.accepted and out["action"] == "recommend"
    assert acts_of(m, conv, "anything else?") == ["refine"]  # more of the standing request


def test_relax_drops_what_the_message_lets_go_of(make_manager: Callable[..., Manager]) -> None:
    m = make_manager(None)
    conv = m.start(None)
    m.respond(conv, "an action movie from the 90s, no horror")
    assert conv.constraints.year_min == 1990 and conv.constraints.exclude
    out = m.respond(conv, "any year is fine")
    assert [a["act"] for a in out["acts"]] == ["relax"]
    assert conv.constraints.year_min is None and conv.constraints.year_max is None
    assert conv.constraints.include == {"genre": ["Action"]}  # the rest stays
    assert "dropped the years" in out["text"] and out["items"]
    out = m.respond(conv, "forget horror")
    assert not conv.constraints.exclude and "dropped Horror" in out["text"]
    out = m.respond(conv, "it doesn't have to be an action movie")
    assert not conv.constraints.include and out["action"] == "recommend"
