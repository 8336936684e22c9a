"""What graph-based policies share: the catalog graph, a preference scorer, sparse helpers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from agent.state import Attribute
from recsys.catalog import Catalog
from recsys.graph import CatalogGraph, GraphMatrices
from recsys.scorers import HybridConfig, HybridScorer

if TYPE_CHECKING:
    from agent.policies.explain import Explainer


@dataclass
class PolicyContext:
    """A fitted scorer over a catalog graph; built once, shared by every policy and episode."""

    graph: CatalogGraph
    scorer: HybridScorer
    like_verb: str = "liked"

    @property
    def mats(self) -> GraphMatrices:
        return self.graph.matrices

    @property
    def n_items(self) -> int:
        return self.graph.n_items

    @cached_property
    def explainer(self) -> Explainer:
        from agent.policies.explain import Explainer

        return Explainer(self.graph, like_verb=self.like_verb)

    @cached_property
    def log_n_attrs(self) -> np.ndarray:
        """(I,) log of each item's number of attribute values (at least 1)."""
        return np.log(np.maximum(np.diff(self.mats.item_attr.indptr), 1)).astype(np.float64)

    def col(self, attribute: Attribute) -> int:
        """Attribute column in the graph matrices (KeyError names the attribute)."""
        try:
            return self.mats.attr_index[attribute]
        except KeyError:
            raise KeyError(f"attribute {attribute} is not in catalog "
                           f"'{self.graph.catalog.name}'") from None

    def cols(self, attributes: Iterable[Attribute]) -> np.ndarray:
        return np.array([self.col(a) for a in attributes], dtype=np.int64)

    def has(self, items: np.ndarray, attribute: Attribute) -> np.ndarray:
        """Boolean mask over sorted ``items``: which have ``attribute``."""
        having = self.mats.items_with(self.col(attribute))
        pos = np.searchsorted(having, items)
        pos[pos == len(having)] = 0
        return having[pos] == items if len(having) else np.zeros(len(items), dtype=bool)

    @cached_property
    def attribute_counts(self) -> np.ndarray:
        """(A,) how many items have each attribute."""
        return np.bincount(self.mats.item_attr.indices,
                           minlength=self.mats.item_attr.shape[1]).astype(np.float64)

    def uniform_mass(self, left_out: np.ndarray) -> tuple[np.ndarray, int]:
        """``attribute_mass`` of every item but ``left_out`` (sorted, unique), each weighing
        1/their number, and that number: from counts kept once, not a pass over 1M items."""
        gone = self.mats.item_attr[left_out]
        counts = self.attribute_counts - np.bincount(gone.indices, minlength=gone.shape[1])
        left = self.n_items - len(left_out)
        return counts / max(left, 1), left

    def attribute_mass(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """(A,) summed ``weights`` of ``items`` per attribute; nonzero = reachable attribute."""
        sub = self.mats.item_attr[items]
        return np.bincount(sub.indices, weights=np.repeat(weights, np.diff(sub.indptr)),
                           minlength=sub.shape[1])

    def top(self, items: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
        """The ``n`` best ``items`` by score (ties: lower index first)."""
        order = np.lexsort((items, -scores))[:n]
        return items[order]


def build_context(catalog: Catalog, scorer: HybridConfig | None = None, *,
                  like_verb: str = "liked", progress: bool | None = False) -> PolicyContext:
    """Build the graph (train likes) and fit the hybrid scorer on it."""
    from recsys.graph import build_graph

    graph = build_graph(catalog)
    return PolicyContext(graph, HybridScorer(scorer).fit(graph, progress=progress),
                         like_verb=like_verb)
