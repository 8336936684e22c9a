"""LLM extraction is grounded in the catalog; the hybrid never lets it override rule slots."""

from __future__ import annotations

from typing import Any

import pytest

from agent.llm.base import ChatResult, LLMResponseError, validate_json
from agent.llm.scripted import ScriptedChatModel
from agent.nlu.hybrid import understand
from agent.nlu.lexicon import Lexicon
from agent.nlu.llm import build_messages, ground, llm_extract, load_prompt, schema_for
from agent.nlu.request import Request, request_schema


def reply(**slots: Any) -> dict[str, Any]:
    """A full Request JSON with ``slots`` set (what the constrained model must write)."""
    base = Request().to_json()
    base.update(slots)
    return base


def raw(**slots: Any) -> ChatResult:
    """A reply that skips schema validation, as a buggy or unconstrained server might send."""
    return ChatResult(text="", json=reply(**slots))


def test_prompt_file_loads_with_valid_examples() -> None:
    system, shots = load_prompt()
    assert "{fields}" in system and len(shots) >= 5
    schema = request_schema({"genre": ["Horror", "Comedy", "Romance", "Sci-Fi"]})
    for _, js in shots:
        import json

        assert validate_json(json.loads(js), schema) == []


def test_messages_and_schema_name_catalog_values(films: Lexicon) -> None:
    msgs = build_messages("90s horror", films)
    assert msgs[0].role == "system" and "Sci-Fi" in msgs[0].content
    assert msgs[-1].content == "90s horror"
    genre = schema_for(films)["properties"]["include"]["properties"]["genre"]
    assert "Horror" in genre["items"]["enum"]


def test_llm_values_not_in_catalog_are_dropped_or_mapped(films: Lexicon) -> None:
    llm = ScriptedChatModel([raw(
        kind="recommend", include={"genre": ["Cyberpunk", "science fiction"],
                                   "mood": ["dark"]},
        exclude={"tag": ["scary", "not-a-tag"]}, year_min=3000, year_max=1999,
        titles=["Oppenheimer", "The Matrix"], refs=[2, 9], feedback={"2": "love", "1": "like"},
        free_text="  ")])
    req = llm_extract("whatever", films, llm, shown=5)
    assert req.include == {"genre": ["Sci-Fi"]}
    assert req.exclude == {"tag": ["scary"]}
    assert (req.year_min, req.year_max) == (None, 1999)
    assert req.titles == ["Matrix, The (1999)"]
    assert req.refs == [2] and req.feedback == {"1": "like"} and req.free_text is None
    assert llm.calls[0].schema is not None  # the call was constrained


def test_ground_rejects_unknown_kind(films: Lexicon) -> None:
    assert ground({"kind": "banana"}, films).kind == "recommend"


def test_hybrid_keeps_rule_slots_over_the_llm(films: Lexicon) -> None:
    llm = ScriptedChatModel([reply(kind="chitchat", include={"genre": ["Horror", "Western"]},
                                   exclude={"genre": ["Comedy"]}, year_min=2020,
                                   year_max=2021, titles=["Alien (1979)"], refs=[1],
                                   free_text="extra dreamy")], fallback=reply())
    text = "some dreamy 90s comedy like Toy Story, no romance"
    req = understand(text, films, llm=llm, shown=5)
    assert req.kind == "recommend"
    assert req.include == {"genre": ["Comedy"]} and req.exclude == {"genre": ["Romance"]}
    assert (req.year_min, req.year_max) == (1990, 1999)
    assert req.titles == ["Toy Story (1995)"] and req.refs == []
    # free text must be the user's words; "extra" was never written
    assert req.free_text is None


def test_hybrid_fills_kind_and_free_text_when_rules_are_unsure(films: Lexicon) -> None:
    llm = ScriptedChatModel([reply(kind="recommend", free_text="rainy day")])
    req = understand("it's a rainy day here", films, llm=llm)
    assert req.kind == "recommend" and req.free_text == "rainy day"
    assert len(llm.calls) == 1


def test_hybrid_skips_the_llm_when_rules_are_sure(films: Lexicon) -> None:
    llm = ScriptedChatModel([])  # any call would raise ScriptExhaustedError
    req = understand("90s sci-fi, no horror", films, llm=llm)
    assert req.include == {"genre": ["Sci-Fi"]} and llm.calls == []


def test_hybrid_caps_llm_attribute_guesses(films: Lexicon) -> None:
    llm = ScriptedChatModel([reply(kind="recommend",
                                   include={"genre": ["Horror", "Thriller", "Sci-Fi"]})])
    req = understand("something spooky tonight", films, llm=llm)
    assert req.include == {"genre": ["Horror", "Thriller"]}


@pytest.mark.parametrize("failure", [LLMResponseError("not JSON"), "plain text, not JSON"])
def test_hybrid_falls_back_to_rules_when_the_llm_fails(films: Lexicon, failure: Any) -> None:
    llm = ScriptedChatModel([failure])
    req = understand("it's raining here", films, llm=llm)
    assert req == extract_only(films, "it's raining here")


def extract_only(lex: Lexicon, text: str) -> Request:
    from agent.nlu.rules import extract

    return extract(text, lex).request
