"""Dialogue state bookkeeping, the action types and the policy registry."""

from __future__ import annotations

import numpy as np
import pytest

from agent.policies import available_policies, build_context, create_policy
from agent.policy import Ask, Explanation, Policy, Recommend
from agent.state import DialogueState
from recsys.errors import UnknownNameError
from recsys.scorers import HybridConfig
from tests.agent.tiny import hand_catalog

A, B, C = ("tag", "a"), ("tag", "b"), ("tag", "c")


def test_state_records_each_kind_of_turn() -> None:
    s = DialogueState.start(7, 6, max_turns=4, list_size=2)
    assert (s.user, s.turn, s.candidates.tolist(), s.turns_left) == (7, 0, list(range(6)), 4)
    s.record_statement([A], np.array([0, 1, 2, 5]))
    s.record_answers([B, C], [True, False])
    assert (s.turn, s.stated, s.accepted, s.rejected) == (2, [A], [A, B], [C])
    assert s.asked == {A, B, C}
    assert s.answered == [(B, True), (C, False)]  # the statement is not an answer
    s.record_recommendation([5, 0], None)
    assert s.candidates.tolist() == [1, 2] and s.rejected_items == [5, 0]
    assert s.is_last_turn and s.turns_left == 1
    s.record_recommendation([2], 1)
    assert s.candidates.tolist() == [1, 2]  # an accepted list removes nothing
    assert s.recommended == [5, 0, 2] and s.rejected_items == [5, 0]
    assert [h.kind for h in s.history] == ["state", "ask", "recommend", "recommend"]
    with pytest.raises(ValueError, match="2 attributes asked but 1 answers"):
        s.record_answers([A, B], [True])


def test_actions_are_validated() -> None:
    with pytest.raises(ValueError, match="at least one attribute"):
        Ask(())
    with pytest.raises(ValueError, match="lists an item twice"):
        Recommend((1, 1))
    with pytest.raises(ValueError, match="2 items but 1 explanations"):
        Recommend((1, 2), (Explanation(1, "x"),))
    assert Recommend((3,)).explanations == ()


def test_policy_is_abstract() -> None:
    with pytest.raises(TypeError):
        Policy()  # type: ignore[abstract]


def test_registry_lists_valid_names_for_unknown_ones() -> None:
    assert set(available_policies()) == {"graph", "recommend_only", "popularity", "max_entropy",
                                         "random_ask", "authors_env"}
    ctx = build_context(hand_catalog(), HybridConfig(factors=4, iterations=2))
    for name in available_policies():
        assert create_policy(name, ctx).name == name
    with pytest.raises(UnknownNameError,
                       match="unknown policy 'unicorn'; valid: authors_env, graph, max_entropy"):
        create_policy("unicorn", ctx)
    with pytest.raises(ValueError, match=r"noise must be in \[0, 0.5\)"):
        create_policy("graph", ctx, noise=0.7)
