"""What a person sees while a turn works: a status first, each step labelled as it runs."""

from __future__ import annotations

from collections.abc import Callable

from agent.manager import Event, Manager


def test_live_steps_arrive_before_the_words_with_labels(
        make_manager: Callable[..., Manager]) -> None:
    m = make_manager(None)
    conv = m.start(None)
    live: list[Event] = []
    events = []
    for ev in m.turn(conv, "an action movie from the 80s", live=live.append):
        events.append(ev)
        if ev.type == "text":
            break
    assert live[0].type == "status" and live[0].data["text"]
    tools = [e for e in live if e.type == "tool"]
    assert tools and all(e.data["label"].endswith("…") for e in tools)
    assert any(e.data["label"] == "Looking for action picks from the 80s…" for e in tools), \
        [e.data["label"] for e in tools]
    # sent live, so not yielded a second time
    assert not [e for e in events if e.type in ("tool", "status")]


def test_without_live_the_steps_are_yielded_in_order(
        make_manager: Callable[..., Manager]) -> None:
    m = make_manager(None)
    kinds = [e.type for e in m.turn(m.start(None), "an action movie")]
    assert kinds[0] == "status"
    assert kinds.index("tool") < kinds.index("text") < kinds.index("done")


def test_the_default_style_words_replies_by_template_without_the_model(
        make_manager: Callable[..., Manager]) -> None:
    from agent.llm.scripted import ScriptedChatModel

    llm = ScriptedChatModel(fallback="Invented words.", name="fake")
    m = make_manager(llm, reply_style=None)  # None: the settings' default
    assert m.reply_style == "template"
    r = m.respond(m.start(None), "an action movie please")
    assert r["reply_source"] == "template" and not llm.calls
    assert r["text"].split("\n")[1].startswith("1. ")


def test_a_reason_for_turning_down_is_applied_said_and_reported(
        make_manager: Callable[..., Manager]) -> None:
    m = make_manager(None)
    conv = m.start(None)
    m.respond(conv, "a drama please")
    cat = m.catalog
    years = [cat.year(cat.item_index[i]) for i in conv.shown]
    oldest = min(range(len(years)), key=lambda k: years[k])
    r = m.respond(conv, f"number {oldest + 1} is too old")
    assert r["reason"] and r["reason"]["ranges"]["year"][0] > years[oldest]
    assert r["text"].startswith("Noted, from now on: nothing before ")
    assert [a["act"] for a in r["acts"]][:1] == ["list_edit"]
    lo = r["reason"]["ranges"]["year"][0]
    assert all(cat.year(cat.item_index[i]) >= lo for i in conv.shown[oldest:oldest + 1])
