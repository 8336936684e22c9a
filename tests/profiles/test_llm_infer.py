"""The model's reading of an edit, kept only where the items bear it out (scripted model)."""

from __future__ import annotations

from agent.llm.scripted import ScriptedChatModel, Timeout
from profiles.llm_infer import LLMInfer, checked, describe_edit
from profiles.rules import Rule
from tests.agent.manager.conftest import movie_catalog

CAT = movie_catalog()  # genre by position: 0 Action 1 Comedy 2 Drama 3 Horror, repeating
SHOWN, KEPT = [3, 7, 1, 2, 5], [1, 2, 5]  # two Horror films taken off


def _read(reply: object, shown: list[int] = SHOWN, kept: list[int] = KEPT
          ) -> tuple[Rule | None, str, ScriptedChatModel]:
    llm = ScriptedChatModel([reply])
    rule, by = LLMInfer(llm).read(CAT, shown, kept, "something for the kids tonight")
    return rule, by, llm


def test_the_models_reading_is_kept_where_the_items_bear_it_out() -> None:
    rule, by, llm = _read({"exclude": {"genre": ["horror"]}, "less": {}, "ranges": {},
                           "statement": "no horror with the kids"})
    assert by == "llm" and rule == Rule(exclude={"genre": ["Horror"]})
    prompt = llm.calls[0].last_user
    assert "something for the kids tonight" in prompt and "Taken off:" in prompt
    assert CAT.titles[3] in prompt and "genre: Horror" in prompt


def test_unsupported_claims_are_dropped_and_the_attributes_answer_when_nothing_is_left() -> None:
    # Comedy is on a kept film, Drama on none taken off: nothing survives, rules answer
    rule, by, _ = _read({"exclude": {"genre": ["Comedy", "Drama"]}, "less": {}, "ranges": {}})
    assert by == "rules" and rule == Rule(exclude={"genre": ["Horror"]})
    # an unknown field or value, and a bound the kept items break, are dropped too
    assert checked(CAT, {"exclude": {"mood": ["grim"], "genre": ["Noir"]}, "less": {},
                         "ranges": {"year": [2050, None]}}, [3, 7], KEPT) is None


def test_one_film_taken_off_only_ranks_down_whatever_the_model_says() -> None:
    rule, by, _ = _read({"exclude": {"genre": ["Horror"]}, "less": {}, "ranges": {}},
                        shown=[3, 1, 2], kept=[1, 2])
    assert by == "llm" and rule == Rule(less={"genre": ["Horror"]})


def test_a_bound_the_model_states_is_checked_against_both_sides() -> None:
    shown, kept = [0, 1, 2, 7, 8, 9], [7, 8, 9]  # 1950, 1957, 1964 off; 1999-2013 kept
    rule, by, _ = _read({"exclude": {}, "less": {}, "ranges": {"year": [1990, None]}},
                        shown=shown, kept=kept)
    assert by == "llm" and rule == Rule(ranges={"year": [1990.0, None]})
    assert checked(CAT, {"ranges": {"year": [2010, None]}}, [0, 1, 2], kept) is None


def test_a_broken_or_slow_model_falls_back_to_the_attributes() -> None:
    for reply in ("not json at all", Timeout(0.0), {"exclude": "Horror"}):
        rule, by, _ = _read(reply)
        assert by == "rules" and rule == Rule(exclude={"genre": ["Horror"]}), reply


def test_the_prompt_lists_each_item_with_its_values_and_numbers() -> None:
    text = describe_edit(CAT, "", [3], [1])
    assert text.startswith("Request: (none)") and f"year: {CAT.year(3)}" in text


def test_cipher_records_who_read_the_edit(tmp_path: object) -> None:
    from pathlib import Path

    from profiles.cipher import Cipher
    from profiles.db import make_engine
    from profiles.migrate import upgrade
    from profiles.store import ProfileStore
    from recsys.embeddings import HashingEncoder

    engine = make_engine(f"sqlite:///{Path(str(tmp_path)) / 'p.db'}")
    upgrade(engine)
    store = ProfileStore(engine)
    user = store.create_user("Ada")[0].id
    ids = [CAT.item_ids[i] for i in SHOWN]
    kept = [CAT.item_ids[i] for i in KEPT]
    llm = ScriptedChatModel([{"exclude": {"genre": ["Horror"]}, "less": {}, "ranges": {}}])
    cipher = Cipher(store, HashingEncoder(64))
    by_llm = cipher.learn(user, CAT, "with the kids", ids, kept, infer=LLMInfer(llm))
    by_rules = cipher.learn(user, CAT, "alone", ids, kept)
    assert by_llm is not None and by_llm.evidence["inferred_by"] == "llm"
    assert by_rules is not None and by_rules.evidence["inferred_by"] == "rules"
    assert by_llm.text == by_rules.text == "no Horror"
