"""Explanations are real graph paths, and their sentences name what the paths contain."""

from __future__ import annotations

import numpy as np

from agent.policies import build_context, create_policy
from agent.policies.explain import Explainer
from agent.policy import Explanation, Recommend
from agent.state import DialogueState
from recsys.graph import CatalogGraph, attr_node, build_graph, item_node, user_node
from recsys.scorers import HybridConfig
from recsys.synthetic import make_catalog
from tests.agent.tiny import hand_catalog


def named_in_text(cg: CatalogGraph, e: Explanation) -> None:
    """Every item and attribute on the paths is named in the sentence."""
    for path in e.paths:
        assert cg.is_path(path), path
        assert item_node(e.item) in path
        for node in path:
            if node[0] == "item":
                assert cg.item_name(node[1]) in e.text
            elif node[0] == "attr":
                assert cg.attribute_name((node[1], node[2])) in e.text


def test_stated_attribute_and_shared_attribute_with_a_liked_item() -> None:
    cg = build_graph(hand_catalog())
    (e,) = Explainer(cg).explain(0, [2], [("tag", "a")])
    assert e.text == ("You said you like tag a; Artist 12 has it, and you liked Artist 10 "
                      "which shares tag b.")
    assert e.paths == ((attr_node(("tag", "a")), item_node(2)),
                       (user_node(0), item_node(0), attr_node(("tag", "b")), item_node(2)))
    named_in_text(cg, e)


def test_fallbacks_co_liked_friend_and_attribute() -> None:
    cg = build_graph(hand_catalog())
    ex = Explainer(cg, like_verb="listened to")
    (co,) = ex.explain(0, [5], [("tag", "a")])  # 5 has only the stated "a"; user 2 likes 0, 5
    assert co.text == ("You said you like tag a; Artist 15 has it, and someone who listened "
                       "to Artist 10 also listened to Artist 15.")
    assert co.paths[1] == (user_node(0), item_node(0), user_node(2), item_node(5))
    (friend,) = ex.explain(0, [6])  # nothing shared; friend user u1 likes it
    assert friend.text == "Your friend user u1 listened to Artist 16."
    assert friend.paths == ((user_node(0), user_node(1), item_node(6)),)
    (bare,) = ex.explain(2, [6])
    assert bare.text == "Artist 16 has tag e." and bare.paths == ((item_node(6),
                                                                    attr_node(("tag", "e"))),)
    (shared,) = ex.explain(0, [3])
    assert shared.text == "You listened to Artist 10 which shares tag b with Artist 13."
    for e in (co, friend, bare, shared):
        for path in e.paths:
            assert cg.is_path(path)


def test_graph_policy_explains_every_recommended_item() -> None:
    cat = make_catalog(n_users=30, n_items=120, per_user=15, n_tags=40)
    ctx = build_context(cat, HybridConfig(factors=4, iterations=2))
    policy = create_policy("graph", ctx, confidence=0.0)  # recommend at once
    for user in range(0, 30, 7):
        s = DialogueState.start(user, ctx.n_items)
        stated = ("genre", "Drama")
        s.record_statement([stated], ctx.mats.items_with(ctx.col(stated)))
        action = policy.act(s)
        assert isinstance(action, Recommend) and len(action.explanations) == len(action.items)
        for item, e in zip(action.items, action.explanations, strict=True):
            assert e.item == item and e.paths
            assert e.text.startswith("You said you like genre Drama; ")
            assert e.paths[0] == (attr_node(stated), item_node(item))
            named_in_text(ctx.graph, e)
            # the attributes named are the catalog's own
            for path in e.paths:
                for node in path:
                    if node[0] == "attr":
                        assert node[2] in cat.attributes[node[1]].values
    assert np.all(np.diff(ctx.mats.item_attr.indptr) > 0)


def test_every_accepted_attribute_the_item_has_is_named() -> None:
    cg = build_graph(hand_catalog())
    (e,) = Explainer(cg).explain(0, [2], [("tag", "a"), ("tag", "c"), ("tag", "d")])
    assert e.text == ("You said you like tag a and tag d; Artist 12 has them, and you liked "
                      "Artist 10 which shares tag b.")
    assert e.paths[:2] == ((attr_node(("tag", "a")), item_node(2)),
                           (attr_node(("tag", "d")), item_node(2)))
    named_in_text(cg, e)
