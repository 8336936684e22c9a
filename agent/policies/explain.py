"""Explanations as graph paths: user -> liked item / stated attribute -> attribute -> item.

Every path returned is a chain of real edges of the catalog graph (``CatalogGraph.is_path``
holds for it); the sentence names the same nodes. The user's own statement ("you said you
like tag 12") is the one link that comes from the dialogue rather than the graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent.policy import Explanation
from agent.state import Attribute
from recsys.graph import CatalogGraph, Node, attr_node, item_node, user_node

MAX_SAID = 3  # stated / accepted attributes named per item: more reads as a list, not a reason


class Explainer:
    """Builds one ``Explanation`` per recommended item from the catalog graph."""

    def __init__(self, graph: CatalogGraph, *, like_verb: str = "liked") -> None:
        self.graph = graph
        self.like_verb = like_verb
        mats = graph.matrices
        self._df = np.diff(mats.attr_item.indptr)  # items per attribute: rarer = more telling
        self._item_users = mats.user_item.T.tocsr()  # (I, U) who likes each item

    def explain(self, user: int, items: Sequence[int], accepted: Sequence[Attribute] = ()
                ) -> tuple[Explanation, ...]:
        """Explanations for ``items`` recommended to ``user`` who accepted ``accepted``."""
        mats = self.graph.matrices
        liked = mats.liked_by(user)
        # attribute column -> a liked item that has it (the first such, in index order)
        via: dict[int, int] = {}
        for j in liked.tolist():
            for a in mats.attrs_of(j).tolist():
                via.setdefault(a, j)
        stated_cols = [mats.attr_index[a] for a in accepted if a in mats.attr_index]
        return tuple(self._one(user, int(i), stated_cols, via, liked) for i in items)

    def _one(self, user: int, item: int, stated_cols: list[int], via: dict[int, int],
             liked: np.ndarray) -> Explanation:
        mats, g = self.graph.matrices, self.graph
        name = g.item_name(item)
        cols = set(mats.attrs_of(item).tolist())
        paths: list[tuple[Node, ...]] = []
        parts: list[str] = []
        said = [c for c in dict.fromkeys(stated_cols) if c in cols][:MAX_SAID]
        if said:
            names = [g.attribute_name(mats.attributes[c]) for c in said]
            paths += [(attr_node(mats.attributes[c]), item_node(item)) for c in said]
            listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
            parts.append(f"You said you like {listed}; {name} has "
                         f"{'them' if len(said) > 1 else 'it'}")
        shared = [c for c in cols if c in via and c not in said]
        if shared:
            c = min(shared, key=lambda x: (self._df[x], x))
            j, a = via[c], mats.attributes[c]
            paths.append((user_node(user), item_node(j), attr_node(a), item_node(item)))
            with_item = "" if parts else f" with {name}"
            parts.append(f"you {self.like_verb} {g.item_name(j)} which shares "
                         f"{g.attribute_name(a)}{with_item}")
        elif (co := self._co_liked(user, item, liked)) is not None:
            j, v = co
            paths.append((user_node(user), item_node(j), user_node(v), item_node(item)))
            parts.append(f"someone who {self.like_verb} {g.item_name(j)} also "
                         f"{self.like_verb} {name}")
        elif (f := self._friend_liked(user, item)) is not None:
            paths.append((user_node(user), user_node(f), item_node(item)))
            parts.append(f"your friend user {g.catalog.user_ids[f]} {self.like_verb} {name}")
        if not parts:
            if cols:
                rare = mats.attributes[min(cols, key=lambda x: (self._df[x], x))]
                paths.append((item_node(item), attr_node(rare)))
                parts.append(f"{name} has {g.attribute_name(rare)}")
            else:
                parts.append(f"{name} fits what you told me")
        text = parts[0] + "".join(f", and {p}" for p in parts[1:]) + "."
        return Explanation(item=item, text=text[0].upper() + text[1:], paths=tuple(paths))

    def _co_liked(self, user: int, item: int, liked: np.ndarray) -> tuple[int, int] | None:
        """(liked item j, other user v) with v liking both j and ``item``."""
        iu = self._item_users
        for v in iu.indices[iu.indptr[item]:iu.indptr[item + 1]].tolist():
            if v == user:
                continue
            common = np.intersect1d(self.graph.matrices.liked_by(v), liked, assume_unique=True)
            if len(common):
                return int(common[0]), v
        return None

    def _friend_liked(self, user: int, item: int) -> int | None:
        g = self.graph.graph
        for n in g.neighbors(user_node(user)):
            if n[0] == "user" and g.has_edge(n, item_node(item)):
                return int(n[1])
        return None
