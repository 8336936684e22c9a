"""The catalog graph: nodes, typed edges, train-only likes, and the matrices read off it."""

from __future__ import annotations

import numpy as np

from recsys.catalog import Catalog
from recsys.graph import (
    FRIEND,
    HAS,
    LIKES,
    attr_node,
    bench_attribute_mass,
    build_graph,
    item_node,
    user_node,
)
from tests.agent.tiny import hand_catalog


def test_nodes_and_typed_edges() -> None:
    g = build_graph(hand_catalog()).graph
    kinds = [d["kind"] for _, d in g.nodes(data=True)]
    assert (kinds.count("user"), kinds.count("item"), kinds.count("attr")) == (3, 7, 5)
    rels = [r for _, _, r in g.edges(data="rel")]
    assert (rels.count(HAS), rels.count(LIKES), rels.count(FRIEND)) == (12, 7, 1)
    assert g.edges[item_node(2), attr_node(("tag", "d"))]["rel"] == HAS
    assert g.has_edge(user_node(0), user_node(1))


def test_likes_come_from_the_train_split_only() -> None:
    cg = build_graph(hand_catalog())
    assert cg.graph.has_edge(user_node(0), item_node(0))
    assert not cg.graph.has_edge(user_node(0), item_node(2))  # a test interaction
    everything = build_graph(hand_catalog(), split=None)
    assert everything.graph.has_edge(user_node(0), item_node(2))


def test_matrices_match_the_catalog(tiny_catalog: Catalog) -> None:
    cg = build_graph(tiny_catalog)
    m = cg.matrices
    expected = np.hstack([(a.matrix > 0).toarray() for a in tiny_catalog.attributes.values()])
    assert np.array_equal(m.item_attr.toarray() > 0, expected)
    assert np.array_equal(m.attr_item.toarray(), m.item_attr.T.toarray())
    assert np.array_equal(m.user_item.toarray() > 0,
                          tiny_catalog.interactions.to_csr(binary=True).toarray() > 0)
    j = m.attr_index[("genre", "Comedy")]
    assert np.array_equal(m.items_with(j), tiny_catalog.attributes["genre"].items_with("Comedy"))


def test_paths_and_attributes_read_from_the_graph() -> None:
    cg = build_graph(hand_catalog())
    assert cg.attributes_of(2) == [("tag", "a"), ("tag", "b"), ("tag", "d")]
    assert cg.is_path([user_node(0), item_node(0), attr_node(("tag", "b")), item_node(2)])
    assert not cg.is_path([user_node(0), item_node(2)])
    assert not cg.is_path([item_node(0)])
    assert cg.attribute_name(("tag", "d")) == "tag d"
    assert cg.item_name(2) == "Artist 12"


def test_attribute_mass_agrees_between_graph_walk_and_matrices() -> None:
    cg = build_graph(hand_catalog())
    timing = bench_attribute_mass(cg, np.array([0, 2, 3]), repeat=1)
    assert set(timing) == {"networkx_ms", "sparse_ms"}
    m = cg.matrices
    mass = np.asarray(m.item_attr[[0, 2, 3]].sum(axis=0)).ravel()
    assert mass.tolist() == [2, 3, 0, 1, 1]  # a b c d e
