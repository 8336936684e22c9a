"""``tastebud simulate``: policies x simulated users on real held-out scenes, pool and Ray."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agent.simulate import _history_only, simulate_report, write_report
from agent.simulators.choice_model import ChoiceModel
from agent.simulators.choice_user import ChoiceUser
from agent.simulators.scenes import build_scenes
from recsys.errors import UnknownNameError
from recsys.graph import build_graph
from recsys.synthetic import make_catalog

KEYS = {"SR@5", "SR@10", "SR@15", "AT", "recall@10", "ungrounded_rate", "leaked_title_rate",
        "turn_p50_s"}


@pytest.fixture(scope="module")
def catalog():
    return make_catalog(n_users=120, n_items=90, per_user=20, seed=5)


@pytest.fixture(scope="module")
def pool_report(catalog):
    return simulate_report(catalog, ["graph", "mf", "popularity"], "choice_model",
                           episodes=40, seed=1, workers=2, progress=False)


def test_the_report_has_every_figure_per_policy(pool_report, tmp_path):
    assert set(pool_report["policies"]) == {"graph", "mf", "popularity"}
    for m in pool_report["policies"].values():
        assert set(m) >= KEYS
        assert 0 <= m["SR@5"] <= m["SR@10"] <= m["SR@15"] <= 1
        assert m["ungrounded_rate"] == 0
    files = write_report(pool_report, tmp_path / "r")
    saved = json.loads((tmp_path / "r" / "report.json").read_text())
    assert saved["policies"]["graph"]["SR@15"] == pool_report["policies"]["graph"]["SR@15"]
    assert "| graph |" in (tmp_path / "r" / "report.md").read_text()
    assert (tmp_path / "r" / "sr_by_turn.png").stat().st_size > 1000 and files["plot"]


def test_policies_never_see_the_choice_they_are_tested_on(catalog):
    sset = build_scenes(catalog, seed=1, progress=False)
    first: dict[int, object] = {}
    for sc in sorted(sset.scenes["heldout"], key=lambda x: x.time):
        first[sc.user] = sc  # each user's latest scene: the one an episode plays
    scenes = list(first.values())
    cut = _history_only(catalog, scenes).interactions
    kept = set(zip(cut.users.tolist(), cut.items.tolist(), strict=True))
    for s in scenes:
        assert (s.user, s.chosen) not in kept
        assert set(s.history[-3:]) <= {i for u, i in kept if u == s.user}


def test_the_choice_user_takes_the_target_or_a_better_liked_item_only(catalog):
    sset = build_scenes(catalog, seed=1, progress=False)
    graph = build_graph(catalog)
    cm = ChoiceModel(epochs=5, progress=False).fit(sset.world, sset.scenes["train"])
    scenes = [s for s in sset.scenes["heldout"] if len(graph.matrices.attrs_of(s.chosen))]
    user = ChoiceUser(graph, cm, scenes)
    s = scenes[0]
    opening = user.start(s.user, s.chosen, np.random.default_rng(0))
    assert user.answer(opening[0]) is True  # the target's own attribute
    assert user.judge([s.negatives[0], s.chosen]) == 2
    others = list(s.negatives[:3])
    rank = user.judge(others)
    if rank is not None:  # it took an item it prefers to the target
        sc = cm.scores(s, [*others, s.chosen])
        assert sc[rank - 1] > sc[-1]
    with pytest.raises(KeyError, match="no scene"):
        user.start(s.user, s.negatives[0], np.random.default_rng(0))


def test_unknown_policy_or_simulator_is_named(catalog):
    with pytest.raises(UnknownNameError, match="nope"):
        simulate_report(catalog, ["nope"], episodes=2)
    with pytest.raises(UnknownNameError, match="ghost"):
        simulate_report(catalog, ["graph"], "ghost", episodes=2)


@pytest.mark.slow
def test_ray_gives_the_same_metrics_as_the_process_pool(catalog, pool_report):
    pytest.importorskip("ray")
    import ray

    try:
        ray_report = simulate_report(catalog, ["graph", "mf", "popularity"], "choice_model",
                                     episodes=40, seed=1, workers=2, backend="ray",
                                     progress=False)
    finally:
        ray.shutdown()
    for name, m in pool_report["policies"].items():
        r = ray_report["policies"][name]
        for k in ("SR@5", "SR@10", "SR@15", "AT", "recall@10", "SR_by_turn"):
            assert r[k] == m[k], (name, k)
