"""The reflection check, and the reply pipeline around it: retry once, then the template."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.llm.base import LLMTimeoutError
from agent.llm.scripted import ScriptedChatModel, Timeout
from agent.manager import Manager
from agent.manager.grounding import Facts, check
from agent.manager.reply import LLM_ACTIONS
from agent.nlu import lexicon_for
from recsys.catalog import Catalog


@pytest.fixture
def facts(movies: Catalog) -> Facts:
    f = Facts()
    f.add_items(movies, [0, 1])  # Crimson Harbor (1950) Action, Silent Harbor (1957) Comedy
    return f


@pytest.mark.parametrize("text", [
    "Crimson Harbor (1950) is a fine start.",
    "Try Silent Harbor, a Comedy from 1957.",
    "Both are from the 1950s.",
    "I think you'll enjoy these two.",
])
def test_grounded_text_passes(text: str, facts: Facts, movies: Catalog) -> None:
    assert check(text, facts, movies, lexicon_for(movies)) == []


@pytest.mark.parametrize(("text", "problem"), [
    ("You might also like Golden Lantern.", "Golden Lantern"),  # real, but not returned
    ("Watch \"Star Blazers\" tonight.", "Star Blazers"),  # invented
    ("Crimson Harbor (1951) is great.", "title and year"),  # wrong year on a real title
    ("It came out in 1999.", "1999"),
    ("A Horror classic.", "Horror"),  # not a genre of these items
])
def test_ungrounded_text_fails(text: str, problem: str, facts: Facts, movies: Catalog) -> None:
    problems = check(text, facts, movies, lexicon_for(movies))
    assert problems and any(problem in p for p in problems), problems


def test_invented_title_retries_then_uses_template(make_manager: Callable[..., Manager]) -> None:
    llm = ScriptedChatModel(["You will love Star Blazers (1977).",
                             "Also try \"Moon Pirates\"."], name="fake")
    m = make_manager(llm)
    r = m.respond(m.start(None), "an action movie please")
    assert r["reply_source"] == "template"
    assert r["text"].startswith("Here are action picks.\n1. ")  # the template, one line per item
    assert len(r["problems"]) >= 2
    assert "Problems:" in llm.calls[1].messages[-1].content  # the retry said what was wrong
    assert "Star Blazers" not in r["text"]


def test_retry_can_succeed(make_manager: Callable[..., Manager]) -> None:
    llm = ScriptedChatModel(["Try Star Blazers (1977).", "Here are five Action picks."],
                            name="fake")
    m = make_manager(llm)
    r = m.respond(m.start(None), "an action movie please")
    # the model words the opening; the item lines follow from the template
    assert r["reply_source"] == "llm-retry"
    assert r["text"].split("\n")[0].strip() == "Here are five Action picks."
    assert r["text"].split("\n")[1].startswith("1. ")


def test_verified_sentences_stream_and_a_bad_one_stops(make_manager: Callable[..., Manager]
                                                       ) -> None:
    llm = ScriptedChatModel(["Here are five Action picks. Also see Moon Pirates (1980). Bye."],
                            name="fake")
    m = make_manager(llm, reply_style="full")  # the model words the whole reply
    events = list(m.turn(m.start(None), "an action movie please"))
    text = "".join(e.data["delta"] for e in events if e.type == "text")
    assert text.strip() == "Here are five Action picks."
    done = events[-1]
    assert done.type == "done" and done.data["reply_source"] == "llm+stop"
    kinds = [e.type for e in events]
    assert kinds.index("tool") < kinds.index("text") < kinds.index("items") < kinds.index("done")


@pytest.mark.parametrize("failure", [Timeout(0.0), LLMTimeoutError("model timed out")])
def test_llm_failure_falls_back_and_the_chat_goes_on(make_manager: Callable[..., Manager],
                                                     failure: object) -> None:
    llm = ScriptedChatModel([failure, failure], fallback="Here you go.", name="fake")
    m = make_manager(llm)
    conv = m.start(None)
    r = m.respond(conv, "comedy please")
    assert r["reply_source"] == "template" and r["items"]
    assert any("model error" in p for p in r["problems"])
    assert [e["code"] for e in r["errors"]] == ["llm_failed", "llm_failed"]  # user is told
    assert all(e["final"] is False for e in r["errors"])
    r = m.respond(conv, "more please")
    assert r["reply_source"] == "llm" and r["text"].startswith("Here you go.\n1. ")


class EchoTemplate:
    """A chat model that answers with the template from its prompt: a fully grounded LLM."""

    name = "echo"

    def stream(self, messages, **kw):  # type: ignore[no-untyped-def]
        import re

        draft = re.search(r"^Template: (.*)$", messages[-1].content, re.M)
        assert draft, messages[-1].content
        yield draft.group(1)

    def generate(self, *a, **kw):  # type: ignore[no-untyped-def]
        raise AssertionError("not used with llm_nlu=False and the rule planner")


def test_templates_pass_their_own_check(make_manager: Callable[..., Manager]) -> None:
    """Whatever the turn, the fallback is grounded (else falling back would not help)."""
    m = make_manager(EchoTemplate())
    for user in (None, "2"):
        conv = m.start(user)
        said = ["recommend something", "yes", "comedy from the 60s please", "no drama",
                "loved number 1", "why that one?", "what genre is the second one?",
                "not number 3", "anything like Star Blazers?", "who directed the first one?",
                "more like the first one", "hello", "horror from 1800"]
        for text in said:
            done = list(m.turn(conv, text))[-1].data
            want = "llm" if done["action"] in LLM_ACTIONS else "template"
            assert done["reply_source"] == want, (text, done["problems"], done["text"])
            assert not done["problems"], (text, done["problems"])


def test_bad_input_is_an_error_event(template_manager: Manager) -> None:
    m = template_manager
    conv = m.start(None)
    for text in ("", "   ", "x" * 5000):
        events = list(m.turn(conv, text))
        assert [e.type for e in events] == ["error"]
        assert events[0].data["recoverable"]
    assert conv.turn == 0


def test_unknown_user_is_a_clear_error(template_manager: Manager) -> None:
    from recsys.errors import UnknownUserError

    with pytest.raises(UnknownUserError, match="not in catalog 'movies'.*new user"):
        template_manager.start("no-such-user")


def test_invented_people_and_places_fail(facts: Facts, movies: Catalog) -> None:
    facts.text = 'User: who directed it?\nFACTS: {"about": {"title": "Crimson Harbor (1950)"}}'
    lex = lexicon_for(movies)
    bad = check("The director of Crimson Harbor was James Cameron.", facts, movies, lex)
    assert any("'James'" in p for p in bad)
    assert check("It follows a woman named Sarah in Paris.", facts, movies, lex)
    assert check("Crimson Harbor is one I think you'll like.", facts, movies, lex) == []


def test_audit_reads_titles_on_its_own(movies: Catalog) -> None:
    from agent.manager.grounding import audit

    returned = {movies.item_ids[0]}
    assert audit("Try Crimson Harbor (1950).", "x", returned, movies) == []
    assert audit("Try Silent Harbor (1957).", "x", returned, movies) == [
        "not returned this turn: Silent Harbor (1957)"]
    assert audit("Try Moon Pirates (1980).", "x", returned, movies)[0].startswith(
        "not in catalog")
    assert audit('I could not find "Star Blazers".', "like Star Blazers", returned,
                 movies) == []
    assert audit('Try "Star Blazers".', "something fun", returned, movies)
    # plain titles in running text count too; lowercase words are just words
    assert audit("Or Silent Harbor, if you want boats.", "x", returned, movies) == [
        "not returned this turn: Silent Harbor (1957)"]
    assert audit("A silent harbor at night.", "x", returned, movies) == []
    assert audit("Crimson Harbor (1950) and Crimson Harbor again.", "x", returned, movies) == []


def test_audit_reads_display_titles_and_one_word_names() -> None:
    from agent.manager.grounding import audit
    from tests.agent.manager.conftest import movie_catalog

    cat = movie_catalog()
    cat.titles[0], cat.titles[1] = "Matrix, The (1999)", "Heat (1995)"
    cat.years[0], cat.years[1] = 1999, 1995
    cat.__dict__.pop("_audit_forms", None)
    returned = {cat.item_ids[0]}
    assert audit("The Matrix (1999) it is.", "x", returned, cat) == []
    assert audit("Watch The Matrix tonight.", "x", returned, cat) == []
    assert audit("Or try Heat, a classic.", "x", returned, cat) == [
        "not returned this turn: Heat (1995)"]
    assert audit("Heat rises.", "x", returned, cat) == []  # a sentence may start with a word
    assert audit("It has heat and speed.", "x", returned, cat) == []


def test_a_why_must_name_its_item_and_a_question_is_always_asked(
        make_manager: Callable[..., Manager]) -> None:
    llm = ScriptedChatModel(["It is one you asked for.", "Still vague.",  # why: no title
                             "Let me narrow things down."],  # ask: no question
                            name="fake")
    m = make_manager(llm)
    conv = m.start(None)
    m2 = make_manager(None)
    first = m2.respond(conv, "some action please")["items"][0]
    r = m.respond(conv, "why the first one?")
    assert r["reply_source"] == "template" and first["title"] in r["text"]
    assert any("must name" in p for p in r["problems"])
    fresh = m.start(None)
    r = m.respond(fresh, "recommend me something")
    assert r["action"] == "ask" and r["reply_source"] == "llm"
    assert r["text"].startswith("Let me narrow things down.")
    assert r["question"]["value"] in r["text"]


def test_the_reply_check_reads_a_common_word_title_written_as_a_name() -> None:
    """ "or try Heat tonight" names the film Heat; "it has heat" and a sentence's first word
    are words."""
    from agent.manager.grounding import Facts, check
    from agent.nlu import lexicon_for
    from tests.agent.manager.conftest import movie_catalog

    cat = movie_catalog()
    cat.titles[1], cat.fingerprint = "Heat (1995)", "heat"
    lex = lexicon_for(cat)
    facts = Facts(items=[0])
    assert check("Or try Heat tonight.", facts, cat, lex) == [
        "'Heat (1995)' was not returned by a tool this turn"]
    assert check("Heat is rising. It has heat.", facts, cat, lex) == []
    facts.add_items(cat, [1])
    assert check("Or try Heat tonight.", facts, cat, lex) == []
