"""The three-way merge of a turn's state with the changes stored while it ran."""

from __future__ import annotations

from agent.manager import Conversation
from agent.manager.merge import merge


def _base() -> Conversation:
    c = Conversation(catalog="movies", turn=1, shown=["1", "2", "3"], ever_shown=["1", "2", "3"],
                     liked=["9"], history=[{"role": "user", "text": "comedy"},
                                           {"role": "assistant", "text": "here"}])
    return c


def _turn(c: Conversation, text: str, shown: list[str] | None = None) -> Conversation:
    c = Conversation.from_json(c.to_json())
    c.turn += 1
    c.remember("user", text)
    c.remember("assistant", "ok")
    if shown is not None:
        c.shown = shown
        c.ever_shown = list(dict.fromkeys([*c.ever_shown, *shown]))
    return c


def test_nothing_changed_meanwhile_keeps_the_turn() -> None:
    base = _base()
    ours = _turn(base, "older", ["4", "5"])
    assert merge(base, ours, Conversation.from_json(base.to_json())) == ours


def test_clicks_made_during_a_turn_survive_it() -> None:
    base = _base()
    theirs = Conversation.from_json(base.to_json())
    theirs.judge("1", "like")
    theirs.judge("9", "dislike")  # changed their mind about an earlier like
    theirs.edit_list(["1", "2", "3"], ["1", "3"])
    ours = _turn(base, "anything else?", ["2", "4", "5"])  # the turn still offers 2
    out = merge(base, ours, theirs)
    assert out.liked == ["1"] and set(out.disliked) == {"9", "2"}
    assert out.shown == ["4", "5"]  # the turn's new list, without what was just turned down
    assert out.turn == 2 and out.history[-2:] == ours.history[-2:]


def test_a_list_edit_without_a_new_list_from_the_turn_stands() -> None:
    base = _base()
    theirs = Conversation.from_json(base.to_json())
    theirs.edit_list(["1", "2", "3"], ["3", "1"])
    ours = _turn(base, "who directed it?")  # a fact: the list on screen is unchanged
    assert merge(base, ours, theirs).shown == ["3", "1"]


def test_two_turns_at_once_keep_both_in_the_history_and_the_count() -> None:
    base = _base()
    theirs, ours = _turn(base, "tab B"), _turn(base, "tab A", ["7"])
    theirs.constraints.year_min = 1990
    out = merge(base, ours, theirs)
    assert out.turn == 3
    assert [h["text"] for h in out.history if h["role"] == "user"][-2:] == ["tab B", "tab A"]
    assert out.constraints.year_min == 1990  # ours left the request alone: theirs stands
    assert out.shown == ["7"]


def test_the_turns_own_change_of_the_request_wins() -> None:
    base = _base()
    theirs, ours = _turn(base, "tab B"), _turn(base, "tab A")
    theirs.constraints.year_min, ours.constraints.year_max = 1990, 1979
    out = merge(base, ours, theirs)
    assert out.constraints.year_max == 1979 and out.constraints.year_min is None


def test_an_edit_of_a_list_replaced_since_only_takes_its_removals_off() -> None:
    c = Conversation(catalog="movies", shown=["7", "8", "9"])
    assert c.edit_list(["1", "7", "3"], ["1", "3"]) == ["7"]  # the page still had the old list
    assert c.shown == ["8", "9"] and c.disliked == ["7"]
    c.edit_list(["8", "9"], ["9", "8"])  # the list on screen: the new order stands
    assert c.shown == ["9", "8"]
