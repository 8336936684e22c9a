"""Choice scenes from real feedback, the baseline choosers and the trained choice model."""

from __future__ import annotations

import numpy as np
import pytest

from agent.llm.scripted import ScriptedChatModel, Timeout
from agent.simulators.choice_model import FEATURES, ChoiceModel, option_features
from agent.simulators.choosers import (
    LLMChooser,
    MFChooser,
    PopularityChooser,
    RandomChooser,
    accuracy,
    paired_gap,
    scene_prompt,
)
from agent.simulators.scenes import PARTS, build_scenes, user_part, views
from recsys.synthetic import make_catalog


@pytest.fixture(scope="module")
def catalog():
    return make_catalog(n_users=160, n_items=120, per_user=24, seed=3)


@pytest.fixture(scope="module")
def sset(catalog):
    return build_scenes(catalog, n_options=10, per_user=4, train_per_user=10, seed=0,
                        progress=False)


def test_users_split_by_stable_hash_into_disjoint_parts(catalog, sset):
    assert user_part("42") == user_part("42")
    users = {p: {s.user for s in sset.scenes[p]} for p in PARTS}
    assert all(users[p] for p in PARTS)
    assert not (users["train"] & users["dev"]) and not (users["train"] & users["heldout"])
    assert not (users["dev"] & users["heldout"])
    ext = list(catalog.user_index)
    for p in PARTS:
        assert all(user_part(ext[u]) == p for u in users[p])


def test_a_scene_holds_the_real_next_choice_and_unseen_negatives(catalog, sset):
    inter = catalog.interactions
    for s in sset.scenes["heldout"][:40]:
        mine = inter.items[inter.users == s.user]
        stamps = inter.timestamps[inter.users == s.user]
        assert s.chosen in mine.tolist()
        assert s.time == int(stamps[mine.tolist().index(s.chosen)])
        assert not set(s.negatives) & set(mine.tolist())  # never a hidden positive
        assert len(set(s.negatives)) == 9 and s.chosen not in s.negatives
        # history: the user's own items, all chosen no later than the choice
        hist_t = [int(stamps[mine.tolist().index(i)]) for i in s.history]
        assert all(t <= s.time for t in hist_t) and hist_t == sorted(hist_t)
        assert len(s.history) == len(s.ratings) >= 5


def test_short_lists_are_the_long_lists_prefix_and_the_order_is_fixed(sset):
    s = sset.scenes["dev"][0]
    o5, a5 = s.options(5)
    o10, a10 = s.options(10)
    assert o5[a5] == o10[a10] == s.chosen
    assert set(o5) <= set(o10) and set(o5) == {s.chosen, *s.negatives[:4]}
    assert s.options(5) == (o5, a5)
    # the real choice is not always in the same slot
    assert len({sc.options(5)[1] for sc in sset.scenes["heldout"]}) > 1
    with pytest.raises(ValueError, match="10 options"):
        s.options(11)


def test_the_world_learns_from_train_users_only(catalog, sset):
    inter = catalog.interactions
    train = np.isin(inter.users, sset.world.train_users)
    assert sset.world.counts.sum() == train.sum() < len(inter)
    held = {s.user for s in sset.scenes["heldout"]}
    assert not held & set(sset.world.train_users.tolist())


def test_a_train_scene_is_featured_as_if_its_user_were_held_out(sset):
    """Counts, ratings and co-occurrences of a train scene leave the user's own events out:
    the same features as from a world without that user (a held-out user's situation)."""
    from agent.simulators.scenes import World

    world = sset.world
    exact = [FEATURES.index(f) for f in ("log_count", "cooc_mean", "cooc_max")]
    rating = FEATURES.index("mean_rating")
    for s in sset.scenes["train"][:12]:
        opts, _ = s.options(10)
        without = World(world.catalog, world.train_users[world.train_users != s.user])
        got, want = option_features(world, s, opts), option_features(without, s, opts)
        assert np.allclose(got[:, exact], want[:, exact], atol=1e-5)
        # the shrinkage's global mean still holds the user's ratings: a hair apart
        assert np.allclose(got[:, rating], want[:, rating], atol=5e-3)
    # a held-out user was never in the world: nothing to leave out
    h = sset.scenes["heldout"][0]
    assert not world.own(h.user, np.asarray(h.options(10)[0]))[0].any()


def test_a_catalog_without_timestamps_is_refused_with_the_reason(catalog):
    from dataclasses import replace

    inter = replace(catalog.interactions, timestamps=None)
    with pytest.raises(ValueError, match="no timestamps"):
        build_scenes(replace(catalog, interactions=inter), progress=False)


def test_random_scores_about_one_in_n_and_popularity_picks_the_most_chosen(sset):
    w = sset.world
    every = [*sset.scenes["train"]]
    r = RandomChooser().fit(w, every)
    assert 0.14 < accuracy(r, views(every, 5)) < 0.26
    pop = PopularityChooser().fit(w, every)
    s, opts, _ = views(every, 5)[0]
    assert opts[pop.pick(s, opts)] == max(opts, key=lambda i: w.counts[i])
    with pytest.raises(ValueError):
        accuracy(r, [])


def test_the_trained_choice_model_beats_random_popularity_and_mf_on_heldout(sset):
    w, parts = sset.world, sset.scenes
    cm = ChoiceModel(epochs=30, seed=0, progress=False).fit(w, parts["train"], parts["dev"])
    assert cm.train_s > 0 and cm.history
    x = option_features(w, parts["heldout"][0], parts["heldout"][0].options(5)[0])
    assert x.shape == (5, len(FEATURES)) and np.isfinite(x).all()
    held = views(parts["heldout"], 5)
    acc = accuracy(cm, held)
    # synthetic users choose in their own genre: history similarity must be learned
    assert acc > accuracy(RandomChooser().fit(w, []), held) + 0.15
    assert acc >= accuracy(PopularityChooser().fit(w, []), held)
    assert acc >= accuracy(MFChooser().fit(w, []), held) - 0.05


def test_an_untrained_choice_model_says_so(sset):
    s = sset.scenes["dev"][0]
    with pytest.raises(RuntimeError, match="not trained"):
        ChoiceModel().scores(s, s.options(5)[0])


def test_the_llm_chooser_reads_its_json_and_counts_what_it_cannot(sset):
    w = sset.world
    s, opts, ans = views(sset.scenes["heldout"], 5)[0]
    llm = ScriptedChatModel([{"choice": ans + 1}, "no idea", Timeout(0)])
    ch = LLMChooser(llm).fit(w, [])
    assert ch.pick(s, opts) == ans
    prompt = llm.calls[0].last_user
    assert "Which one of these" in prompt and "5." in prompt
    assert ch.scores(s, opts).tolist() == [0.0] * 5  # unparsable: no preference
    assert ch.scores(s, opts).tolist() == [0.0] * 5  # timed out: no preference
    assert ch.failures == 2
    assert "you gave it" in scene_prompt(w, s, opts)


def test_the_paired_gap_interval_covers_the_gap_and_excludes_zero_only_when_clear():
    a = np.array([1.0] * 60 + [0.0] * 40)
    same = paired_gap(a, a)
    assert same["gap"] == 0 and same["ci95"] == [0.0, 0.0]
    clear = paired_gap(a, np.zeros(100))
    assert clear["gap"] == 0.6 and clear["ci95"][0] > 0.4
    noisy = paired_gap(a, np.roll(a, 1))
    assert noisy["ci95"][0] < 0 < noisy["ci95"][1]
    with pytest.raises(ValueError):
        paired_gap(a, a[:3])
