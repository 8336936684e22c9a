"""The graph path reasoning policy on a small synthetic catalog (400 items, 60 users)."""

from __future__ import annotations

import numpy as np
import pytest

from agent.evaluate import conversation_pairs, evaluate, run_episode
from agent.policies import GraphPolicy, PolicyContext, build_context, create_policy
from agent.policy import Ask, Recommend
from agent.simulators import create_simulator
from agent.state import DialogueState
from recsys.scorers import HybridConfig
from recsys.synthetic import make_catalog


@pytest.fixture(scope="module")
def ctx() -> PolicyContext:
    cat = make_catalog(n_users=60, n_items=400, per_user=20, n_tags=80)
    n = len(cat.interactions)
    cat.interactions.splits = np.where(np.arange(n) % 4 == 0, "test", "train")
    return build_context(cat, HybridConfig(factors=8, iterations=5))


def opened(ctx: PolicyContext, user: int, attribute: tuple[str, str]) -> DialogueState:
    s = DialogueState.start(user, ctx.n_items)
    s.record_statement([attribute], ctx.mats.items_with(ctx.col(attribute)))
    return s


def test_asks_an_attribute_reachable_through_the_candidates(ctx: PolicyContext) -> None:
    s = opened(ctx, 0, ("genre", "Action"))
    action = GraphPolicy(ctx, explain=False, confidence=1.01).act(s)
    assert isinstance(action, Ask) and len(action.attributes) == 1
    (asked,) = action.attributes
    having = ctx.has(s.candidates, asked)
    assert asked not in s.asked and 0 < having.sum() < len(s.candidates)  # it splits them


def test_never_asks_the_same_attribute_twice(ctx: PolicyContext) -> None:
    s = opened(ctx, 3, ("genre", "Comedy"))
    policy = GraphPolicy(ctx, explain=False, confidence=1.01)  # never confident: keep asking
    for _ in range(5):
        action = policy.act(s)
        assert isinstance(action, Ask) and action.attributes[0] not in s.asked
        s.record_answers(action.attributes, [False])


def test_answers_filter_hard_without_noise_and_soft_with_it(ctx: PolicyContext) -> None:
    s = opened(ctx, 1, ("genre", "Drama"))
    tag = ("tag", ctx.graph.catalog.attributes["tag"].values[0])
    before_items, before = GraphPolicy(ctx).belief(s)
    s.record_answers([tag], [True])
    items, p = GraphPolicy(ctx).belief(s)
    assert ctx.has(items, tag).all() and len(items) < len(before_items)
    eps = 0.1
    soft_items, soft = GraphPolicy(ctx, noise=eps).belief(s)
    assert np.array_equal(soft_items, before_items)  # nobody is ruled out
    ratio = soft / before
    has = ctx.has(soft_items, tag)
    # every disagreeing item keeps eps / (1 - eps) of the weight an agreeing item keeps
    assert np.allclose(ratio[~has] / ratio[has].mean(), eps / (1 - eps))
    assert np.allclose(ratio[has], ratio[has][0])


def test_statement_prior_discounts_items_with_many_attributes(ctx: PolicyContext) -> None:
    s = opened(ctx, 2, ("genre", "Horror"))
    items, flat = GraphPolicy(ctx, statement_prior=0.0).belief(s)
    _, prior = GraphPolicy(ctx, statement_prior=1.0).belief(s)
    expected = flat * np.exp(-ctx.log_n_attrs[items])
    assert np.allclose(prior, expected / expected.sum())


def test_recommends_when_few_candidates_or_on_the_last_turn(ctx: PolicyContext) -> None:
    policy = GraphPolicy(ctx, explain=False, confidence=1.01)
    s = opened(ctx, 0, ("genre", "Action"))
    s.turn = s.max_turns - 1
    action = policy.act(s)
    assert isinstance(action, Recommend) and len(action.items) == s.list_size
    assert set(action.items) <= set(s.candidates.tolist())
    few = DialogueState.start(0, ctx.n_items)
    few.record_statement([("genre", "Action")], np.array([0, 4, 8]))
    assert isinstance(policy.act(few), Recommend)


def test_conversations_succeed_and_survive_noisy_users(ctx: PolicyContext) -> None:
    pairs = conversation_pairs(ctx.graph.catalog, "test", None)
    results = {}
    for noise in (0.0, 0.2):
        sim = create_simulator("rule", ctx.graph, noise=noise)
        for name in ("graph", "max_entropy"):
            policy = create_policy(name, ctx, **({"noise": noise} if name == "graph" else {}))
            results[name, noise] = evaluate(policy, sim, ctx.graph, pairs, progress=False
                                            ).summary()
    assert results["graph", 0.0]["SR@15"] == 1.0
    assert results["graph", 0.2]["SR@15"] >= 0.95
    # hard filtering on answers loses the target whenever an answer is flipped
    assert results["max_entropy", 0.2]["SR@15"] < results["graph", 0.2]["SR@15"] - 0.1


def test_results_do_not_depend_on_the_number_of_workers(ctx: PolicyContext) -> None:
    pairs = conversation_pairs(ctx.graph.catalog, "test", 80)
    sim = create_simulator("noisy", ctx.graph, noise=0.1)
    policy = create_policy("graph", ctx, noise=0.1, explain=False)
    one = evaluate(policy, sim, ctx.graph, pairs, workers=1, chunk=16, progress=False)
    two = evaluate(policy, sim, ctx.graph, pairs, workers=2, chunk=16, progress=False)
    assert one.episodes == two.episodes


def test_episode_is_reproducible_from_its_seed(ctx: PolicyContext) -> None:
    sim = create_simulator("rule", ctx.graph)
    policy = create_policy("random_ask", ctx, seed=3)
    u, t = conversation_pairs(ctx.graph.catalog, "test", 1)[0]
    a = run_episode(policy, sim, ctx.graph, int(u), int(t), np.random.default_rng(9),
                    keep_history=True)
    b = run_episode(policy, sim, ctx.graph, int(u), int(t), np.random.default_rng(9),
                    keep_history=True)
    assert a == b


@pytest.mark.dataset
def test_lastfm_star_quick_run(mirror: object) -> None:
    """200 of the authors' seeded test pairs on the real LastFM*: SR@15 stays high."""
    from agent.evaluate import cpr_report
    from recsys.catalogs import open_catalog

    catalog = open_catalog("lastfm-star", progress=False)
    ctx = build_context(catalog)
    report = cpr_report(catalog, ["graph"], pairs=200, workers=2, progress=False, context=ctx)
    graph = report["policies"]["graph"]
    assert graph["SR@15"] >= 0.97 and graph["AT"] <= 4.5, graph
    u, t = conversation_pairs(catalog, "test", 1)[0]
    s = DialogueState.start(int(u), ctx.n_items)
    stated = ctx.mats.attributes[int(ctx.mats.attrs_of(int(t))[0])]
    s.record_statement([stated], ctx.mats.items_with(ctx.col(stated)))
    rec = GraphPolicy(ctx, confidence=0.0).act(s)
    assert isinstance(rec, Recommend)
    for e in rec.explanations:
        assert e.paths and all(ctx.graph.is_path(p) for p in e.paths)
        assert catalog.titles[e.item] in e.text


def test_hybrid_scorer_parts_and_weights(ctx: PolicyContext) -> None:
    from dataclasses import replace

    from recsys.scorers import PARTS, HybridScorer

    scorer = ctx.scorer
    parts = scorer.parts(0)
    assert parts.shape == (ctx.n_items, len(PARTS))
    liked = ctx.mats.liked_by(0)
    expected = parts @ scorer.config.weights()
    expected[liked] += scorer.config.seen  # the user's own items sink
    assert np.allclose(scorer.scores(0), expected, atol=1e-4)
    content_only = scorer.with_config(replace(scorer.config, collab=0.0, social=0.0,
                                              popularity=0.0, cold=0.0))
    assert np.allclose(content_only.scores(1)[~np.isin(np.arange(ctx.n_items),
                                                       ctx.mats.liked_by(1))],
                       (scorer.config.content * scorer.parts(1)[:, 0])[
                           ~np.isin(np.arange(ctx.n_items), ctx.mats.liked_by(1))], atol=1e-4)
    with pytest.raises(ValueError, match="not fitted"):
        HybridScorer().scores(0)


def test_auto_noise_is_estimated_from_the_answers_not_told(ctx: PolicyContext) -> None:
    """Answers the likely items agree with keep the estimate low; answers no item fits make
    a noisy user likelier, and nobody is ruled out by one wrong answer."""
    from agent.policies.graph import NOISE_GRID, NOISE_PRIOR

    prior_mean = float(NOISE_PRIOR @ NOISE_GRID) / float(NOISE_PRIOR.sum())
    s = opened(ctx, 1, ("genre", "Drama"))
    policy = GraphPolicy(ctx, noise="auto", explain=False)
    items0, p0 = policy.belief(s)
    assert policy.noise == pytest.approx(prior_mean)  # no answers yet: the prior
    # truthful answers about the user's own likeliest item
    target = int(items0[np.argmax(p0)])
    attrs = [a for a in ctx.mats.attributes if ctx.has(np.array([target]), a)[0]][:4]
    for a in attrs:
        s.record_answers([a], [True])
    policy.belief(s)
    low = policy.noise
    assert low < prior_mean
    # another user of the same opening says no to everything that item has, and yes to
    # values few candidates share: answers no single item explains
    t = opened(ctx, 1, ("genre", "Drama"))
    for a in attrs:
        t.record_answers([a], [False])
    others = [a for a in ctx.mats.attributes[::7] if a not in attrs][:6]
    for a in others:
        t.record_answers([a], [True])
    items, p = policy.belief(t)
    assert policy.noise > low
    assert len(items) == len(items0)  # soft: every candidate keeps some weight
    with pytest.raises(ValueError, match="auto"):
        GraphPolicy(ctx, noise="sometimes")


def test_a_large_catalog_builds_a_users_scores_when_asked(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Above DENSE_MAX_CELLS no users x items matrix is built (100k x 1M would be 400 GB):
    a user's row is built on demand, equal to the dense one, and only a few are kept."""
    import recsys.scorers as sc
    from recsys.graph import build_graph
    from recsys.synthetic import make_catalog

    graph = build_graph(make_catalog(n_users=30, n_items=50))
    dense = sc.HybridScorer().fit(graph)
    monkeypatch.setattr(sc, "DENSE_MAX_CELLS", 10)
    monkeypatch.setattr(sc, "ROWS_KEPT", 3)
    lazy = dense.with_config(dense.config)
    assert lazy._scores is None
    for u in range(6):
        np.testing.assert_allclose(lazy.scores(u), dense.scores(u), rtol=1e-5, atol=1e-5)
    assert list(lazy._rows) == [3, 4, 5]
    np.testing.assert_allclose(lazy.parts(2)[:, 0], dense.parts(2)[:, 0], rtol=1e-5)
