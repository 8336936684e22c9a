"""The binary-question protocol, turn by turn, on scripted episodes worked out by hand."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from agent.evaluate import Protocol, metrics, run_episode
from agent.policy import Action, Ask, Policy, Recommend
from agent.simulators import available_simulators, create_simulator
from agent.simulators.rule import NoisyRuleSimulator, RuleSimulator
from agent.state import DialogueState
from recsys.errors import UnknownNameError
from recsys.graph import CatalogGraph, build_graph
from tests.agent.tiny import hand_catalog

A, B, C, D, E = (("tag", x) for x in "abcde")
SMALL = Protocol(max_turns=5, list_size=2)


@dataclass
class Snapshot:
    turn: int
    candidates: list[int]
    accepted: list[tuple[str, str]]
    rejected: list[tuple[str, str]]
    rejected_items: list[int]


@dataclass
class Scripted(Policy):
    """Plays fixed actions and records the state it saw before each one."""

    actions: list[Action]
    seen: list[Snapshot] = field(default_factory=list)
    name = "scripted"

    def act(self, state: DialogueState) -> Action:
        self.seen.append(Snapshot(state.turn, state.candidates.tolist(), list(state.accepted),
                                  list(state.rejected), list(state.rejected_items)))
        return self.actions[len(self.seen) - 1]


@pytest.fixture
def graph() -> CatalogGraph:
    return build_graph(hand_catalog())


def test_success_episode_bookkeeping(graph: CatalogGraph) -> None:
    # target item 2 (a b d); rng 11 draws index 0 of its sorted attributes: the user says "a"
    policy = Scripted([Ask((C,)), Recommend((0, 1)), Ask((D,)), Recommend((5, 2))])
    ep = run_episode(policy, RuleSimulator(graph), graph, 0, 2, np.random.default_rng(11),
                     SMALL, keep_history=True)
    assert [(s.turn, s.candidates, s.accepted, s.rejected, s.rejected_items)
            for s in policy.seen] == [
        (1, [0, 1, 2, 5], [A], [], []),  # items with "a"
        (2, [0, 1, 2, 5], [A], [C], []),  # a rejection filters nothing in the state
        (3, [2, 5], [A], [C], [0, 1]),  # a failed list leaves the candidates
        (4, [2, 5], [A, D], [C], [0, 1]),
    ]
    assert [(h.turn, h.kind, h.attributes, h.answers, h.items, h.rank) for h in ep.history] == [
        (1, "state", (A,), (), (), None),
        (2, "ask", (C,), (False,), (), None),
        (3, "recommend", (), (), (0, 1), None),
        (4, "ask", (D,), (True,), (), None),
        (5, "recommend", (), (), (5, 2), 2),
    ]
    assert (ep.success, ep.turns, ep.rank, ep.asks, ep.recommendations) == (
        True, 5, 2, 2, 2)
    assert ep.action_index == 3  # the fourth agent action; the opening is not counted


def test_failure_episode_runs_to_the_turn_limit(graph: CatalogGraph) -> None:
    # target item 3 (b e); rng 1 draws index 0: the user says "b"
    policy = Scripted([Recommend((0, 2)), Ask((A,)), Ask((E,)), Recommend((4,))])
    ep = run_episode(policy, RuleSimulator(graph), graph, 1, 3, np.random.default_rng(1),
                     SMALL)
    assert [(s.turn, s.candidates) for s in policy.seen] == [
        (1, [0, 2, 3]), (2, [3]), (3, [3]), (4, [3])]
    assert policy.seen[-1].accepted == [B, E] and policy.seen[-1].rejected == [A]
    assert (ep.success, ep.turns, ep.rank, ep.asks, ep.recommendations) == (
        False, 5, None, 2, 2)


def test_metrics_by_hand(graph: CatalogGraph) -> None:
    won = run_episode(Scripted([Ask((C,)), Recommend((0, 1)), Ask((D,)), Recommend((5, 2))]),
                      RuleSimulator(graph), graph, 0, 2, np.random.default_rng(11), SMALL)
    lost = run_episode(Scripted([Recommend((0, 2)), Ask((A,)), Ask((E,)), Recommend((4,))]),
                       RuleSimulator(graph), graph, 1, 3, np.random.default_rng(1), SMALL)
    m = metrics([won, lost], SMALL)
    # won at agent action t = 3 with rank r = 2: 1/log2(6) + (1/log2(5) - 1/log2(6))/log2(3)
    #   = 0.3868528 + 0.0438238 / 1.5849625 = 0.4145025; the failure scores 0
    assert m["hDCG"] == pytest.approx(0.4145025 / 2, abs=1e-6)
    assert m["AT"] == pytest.approx((3 + 1 + 5) / 2)  # t + 1 for a win, max_turns for a loss
    assert m["AT_counting_opening"] == pytest.approx((5 + 5) / 2)
    assert m["SR_by_turn"] == [0.0, 0.0, 0.0, 0.5, 0.5]  # won once t < k, i.e. k >= 4
    assert (m["SR@5"], m["SR@10"], m["SR@15"]) == (0.5, 0.5, 0.5)
    assert m["episodes"] == 2 and m["asks_per_episode"] == 2.0
    assert math.isclose(metrics([won], SMALL)["hDCG"], 0.4145025, abs_tol=1e-6)


def test_default_protocol_gives_fourteen_agent_actions(graph: CatalogGraph) -> None:
    assert Protocol() == Protocol(max_turns=15, list_size=10)

    class AlwaysAsk(Policy):
        name = "always_ask"
        calls = 0

        def act(self, state: DialogueState) -> Action:
            AlwaysAsk.calls += 1
            return Ask((C,))

    ep = run_episode(AlwaysAsk(), RuleSimulator(graph), graph, 0, 2, np.random.default_rng(0))
    assert AlwaysAsk.calls == 14 and not ep.success and ep.turns == 15
    assert metrics([ep])["AT"] == 15.0 and metrics([ep])["hDCG"] == 0.0


def test_first_action_success_scores_full_gain(graph: CatalogGraph) -> None:
    ep = run_episode(Scripted([Recommend((2, 0))]), RuleSimulator(graph), graph, 0, 2,
                     np.random.default_rng(0), SMALL)
    m = metrics([ep], SMALL)
    assert ep.turns == 2 and m["AT"] == 1.0 and m["hDCG"] == pytest.approx(1.0)
    assert m["SR_by_turn"][0] == 1.0


def test_protocol_violations_are_our_bugs_and_raise(graph: CatalogGraph) -> None:
    with pytest.raises(ValueError, match="recommended 3 items; the protocol allows 2"):
        run_episode(Scripted([Recommend((0, 1, 2))]), RuleSimulator(graph), graph, 0, 2,
                    np.random.default_rng(0), SMALL)
    with pytest.raises(TypeError, match="not Ask or Recommend"):
        run_episode(Scripted(["hello"]), RuleSimulator(graph), graph, 0, 2,  # type: ignore[list-item]
                    np.random.default_rng(0), SMALL)


def test_rule_user_answers_and_judges(graph: CatalogGraph) -> None:
    sim = RuleSimulator(graph)
    opening = sim.start(0, 2, np.random.default_rng(5))
    assert len(opening) == 1 and opening[0] in {A, B, D}
    assert [sim.answer(x) for x in (A, B, C, D, E)] == [True, True, False, True, False]
    assert sim.judge([5, 2, 0]) == 2 and sim.judge([0, 1]) is None


def test_noisy_user_flips_answers_but_states_the_truth(graph: CatalogGraph) -> None:
    always_wrong = NoisyRuleSimulator(graph, noise=1.0)
    for seed in range(20):
        (said,) = always_wrong.start(0, 2, np.random.default_rng(seed))
        assert said in {A, B, D}
    assert [always_wrong.answer(x) for x in (A, B, C, D, E)] == [False, False, True, False, True]
    sim = NoisyRuleSimulator(graph, noise=0.2)
    sim.start(0, 2, np.random.default_rng(0))
    flips = np.mean([not sim.answer(A) for _ in range(4000)])
    assert 0.18 < flips < 0.22
    assert sim.judge([2]) == 1  # judging a list is never noisy


def test_simulator_registry(graph: CatalogGraph) -> None:
    assert set(available_simulators()) == {"rule", "noisy"}
    assert create_simulator("noisy", graph, noise=0.2).noise == 0.2  # type: ignore[attr-defined]
    with pytest.raises(UnknownNameError, match="unknown simulator 'llm'; valid: noisy, rule"):
        create_simulator("llm", graph)
    with pytest.raises(ValueError, match="noise must be a probability"):
        RuleSimulator(graph, noise=1.5)
