"""A scripted multi-turn conversation: recommend, refine with a negation, feedback on item 2,
"why that one?", a fact question, and a title the catalog does not have."""

from __future__ import annotations

from collections.abc import Callable

from agent.llm.scripted import ScriptedChatModel
from agent.manager import Conversation, Manager


def _genres(m: Manager, card: dict) -> list[str]:
    return m.catalog.item_attributes(m.catalog.item_index[card["id"]])["genre"]


def test_scripted_conversation(make_manager: Callable[..., Manager]) -> None:
    llm = ScriptedChatModel([
        "Here are some Action picks for you.",  # 1 recommend
        "These skip Horror entirely.",  # 2 refine (Horror named: the user asked to avoid it)
        "Because it is Action, which you asked for.",  # 4 why
        # feedback, facts and "not found" are answered by the template: no LLM call
    ], name="fake")
    m = make_manager(llm)
    conv = m.start(None)
    cat = m.catalog

    r1 = m.respond(conv, "I'd like an action movie from after 1980")
    assert r1["action"] == "recommend" and r1["reply_source"] == "llm"
    assert r1["text"].startswith("Here are some Action picks for you.\n1. ")  # then the lines
    assert len(r1["items"]) == 5
    for card in r1["items"]:
        assert "Action" in _genres(m, card) and card["year"] >= 1980
    assert [s["tool"] for s in r1["trace"]] == ["filter_items", "rank_items"]

    r2 = m.respond(conv, "hmm, no horror please")
    assert r2["request"]["exclude"] == {"genre": ["Horror"]}
    assert conv.constraints.include == {"genre": ["Action"]}  # the refinement kept the rest
    for card in r2["items"]:
        assert "Horror" not in _genres(m, card) and "Action" in _genres(m, card)
    # a narrowing keeps what still fits (SCENARIOS 15): here every item had no horror
    fits = [c["id"] for c in r1["items"] if "Horror" not in _genres(m, c)]
    assert [c["id"] for c in r2["items"]][:len(fits)] == fits

    second = r2["items"][1]
    r3 = m.respond(conv, "I loved number 2")
    assert r3["action"] == "ack" and conv.liked == [second["id"]]
    assert r3["reply_source"] == "template" and second["title"] in r3["text"]
    assert r3["items"] is None  # feedback does not change the list on screen

    r4 = m.respond(conv, "why that one?")
    assert r4["action"] == "explain"
    assert r4["trace"][0]["tool"] == "explain"
    assert r4["trace"][0]["args"]["item"] == second["id"]  # "that one" = the item just liked

    r5 = m.respond(conv, f"what genre is {second['title'].split(' (')[0]}?")
    assert r5["action"] == "fact"
    assert r5["trace"][0]["tool"] == "lookup_item"
    assert r5["text"].startswith(second["title"]) and "genre: " in r5["text"]

    r6 = m.respond(conv, "anything like Blorptastic Voyage?")
    assert r6["action"] == "unknown" and r6["items"] is None
    assert "couldn't find “Blorptastic Voyage”" in r6["text"]
    assert llm.remaining == 0
    # every item ever shown is a real catalog item
    assert all(i in cat.item_index for i in conv.ever_shown)


def test_template_conversation_is_true(template_manager: Manager) -> None:
    """Without an LLM the template answers every turn, and it states only catalog facts."""
    m, cat = template_manager, template_manager.catalog
    conv = m.start(None)
    r = m.respond(conv, "some comedy please")
    assert r["reply_source"] == "template" and "Comedy" in r["text"]
    target = cat.item_index[r["items"][2]["id"]]
    r = m.respond(conv, "tell me about the third one")
    assert cat.titles[target] in r["text"]
    assert ", ".join(cat.item_attributes(target)["genre"]) in r["text"]
    r = m.respond(conv, "anything like Blorptastic Voyage?")
    assert "couldn't find “Blorptastic Voyage”" in r["text"]


def test_not_this_one_replaces_the_item(template_manager: Manager) -> None:
    m = template_manager
    conv = m.start(None)
    first = m.respond(conv, "drama please")["items"]
    r = m.respond(conv, "not number 3")
    assert r["action"] == "ack"
    ids = [c["id"] for c in r["items"]]
    assert first[2]["id"] not in ids and len(ids) == len(first)
    assert ids[:2] == [c["id"] for c in first[:2]]  # the rest of the list stays in place
    assert first[2]["id"] in conv.disliked
    later = m.respond(conv, "more drama")["items"]
    assert first[2]["id"] not in [c["id"] for c in later]


def test_vague_new_user_gets_a_question_then_yes_narrows(template_manager: Manager) -> None:
    m = template_manager
    conv = m.start(None)
    r = m.respond(conv, "recommend me something")
    assert r["action"] == "ask" and r["question"]
    fld, value = r["question"]["field"], r["question"]["value"]
    r = m.respond(conv, "yes")
    assert r["action"] == "recommend"
    for card in r["items"]:
        assert value in m.catalog.item_attributes(m.catalog.item_index[card["id"]])[fld]


def test_known_user_is_personalised(template_manager: Manager) -> None:
    conv = template_manager.start("3")
    r = template_manager.respond(conv, "recommend me something")
    assert r["action"] == "recommend" and "picked for your taste" in r["text"]


def test_conversation_json_round_trip(template_manager: Manager) -> None:
    m = template_manager
    conv = m.start(None)
    m.respond(conv, "action after 1960, no comedy")
    m.respond(conv, "loved the first one")
    back = Conversation.from_json(conv.to_json())
    assert back == conv
    assert m.respond(back, "more like that")["action"] == "recommend"


def test_likes_personalise_a_new_user(template_manager: Manager) -> None:
    m = template_manager
    conv = m.start(None)
    m.respond(conv, "some drama")
    m.respond(conv, "loved the first one")
    r = m.respond(conv, "anything else?")
    assert r["action"] == "recommend" and "picked for your taste" in r["text"]


def test_explain_for_the_page_has_a_sentence(template_manager: Manager) -> None:
    m = template_manager
    conv = m.start(None)
    first = m.respond(conv, "some comedy")["items"][0]
    r = m.explain(conv, first["id"])
    assert r["reason"].startswith("It is Comedy, which you asked for")
    assert r["paths"]
