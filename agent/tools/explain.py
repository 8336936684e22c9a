"""explain: why an item suits this user, as graph paths and MF neighbours among their items."""

from __future__ import annotations

from typing import Any

import numpy as np

from agent.tools.base import Tool
from agent.tools.bus import ToolContext
from agent.tools.items import ITEM_REF, card, resolve_item
from recsys.catalog import Catalog
from recsys.graph import Node, attr_node, item_node


def node_json(catalog: Catalog, node: Node) -> dict[str, Any]:
    """A graph node as JSON: users and items by catalog id, attributes by field and value."""
    if node[0] == "user":
        return {"type": "user", "id": catalog.user_ids[node[1]]}
    if node[0] == "item":
        return {"type": "item", "id": catalog.item_ids[node[1]], "title": catalog.titles[node[1]]}
    return {"type": "attribute", "field": node[1], "value": node[2]}


def node_from_json(catalog: Catalog, obj: dict[str, Any]) -> Node:
    """The inverse of ``node_json`` (for checking a path against the graph)."""
    if obj["type"] == "user":
        return ("user", catalog.user(obj["id"]))
    if obj["type"] == "item":
        return ("item", catalog.item(obj["id"]))
    return ("attr", obj["field"], obj["value"])


class Explain(Tool):
    name = "explain"
    description = ("Why an item suits this user: paths in the catalog graph from items they "
                   "liked or attributes they asked for to the item, and the items of theirs "
                   "it is most similar to. Use the result to write the reason.")
    inputs = {
        "type": "object",
        "properties": {"item": ITEM_REF,
                       "neighbours": {"type": "integer", "minimum": 0, "maximum": 10,
                                      "default": 3,
                                      "description": "how many similar items of the user's"}},
        "required": ["item"],
        "additionalProperties": False,
    }

    def run(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        cat = ctx.catalog
        i = resolve_item(cat, args["item"])
        accepted = list(ctx.state.accepted) if ctx.state is not None else []
        pctx = ctx.policy()
        if ctx.user is not None:
            exp = pctx.explainer.explain(ctx.user, [i], accepted)[0]
            paths, reason = list(exp.paths), exp.text
        else:
            paths, reason = _new_user_paths(ctx, i, accepted), None
        out = card(cat, i)
        out["paths"] = [[node_json(cat, n) for n in p] for p in paths]
        out["reason"] = reason  # the explainer's sentence, built from the same nodes
        out["neighbours"] = _mf_neighbours(ctx, i, args["neighbours"])
        return out


def _new_user_paths(ctx: ToolContext, item: int, accepted: list[tuple[str, str]]
                    ) -> list[tuple[Node, ...]]:
    """Without a history: the accepted attributes the item has, else its rarest attribute."""
    mats = ctx.policy().mats
    cols = set(mats.attrs_of(item).tolist())
    said = [a for a in dict.fromkeys(accepted) if mats.attr_index.get(a) in cols]
    df = np.diff(mats.attr_item.indptr)
    # items liked earlier in this chat that share a value: liked -> value -> item, rarest first
    liked: list[tuple[Node, ...]] = []
    for j in ctx.liked:
        shared = sorted(cols & set(mats.attrs_of(j).tolist()), key=lambda c: (df[c], c))
        if j != item and shared:
            liked.append((item_node(j), attr_node(mats.attributes[shared[0]]),
                          item_node(item)))
    if said or liked:
        return [*liked[:2], *[(attr_node(a), item_node(item)) for a in said[:2]]]
    if not cols:
        return []
    rare = min(cols, key=lambda c: (df[c], c))
    return [(item_node(item), attr_node(mats.attributes[rare]))]


def _mf_neighbours(ctx: ToolContext, item: int, n: int) -> list[dict[str, Any]]:
    """The user's own training items closest to ``item`` in the MF item-factor space."""
    if n == 0 or ctx.user is None:
        return []
    model = ctx.model()
    factors = getattr(model, "item_factors", None)
    if factors is None or not 0 <= ctx.user < model.n_users:
        return []
    seen = model.seen
    mine = seen.indices[seen.indptr[ctx.user]:seen.indptr[ctx.user + 1]]
    mine = mine[mine != item]
    if not len(mine):
        return []
    f = np.asarray(factors, dtype=np.float32)
    norms = np.linalg.norm(f[mine], axis=1) * (np.linalg.norm(f[item]) + 1e-12) + 1e-12
    sims = f[mine] @ f[item] / norms
    order = np.lexsort((mine, -sims))[:n]
    return [{**card(ctx.catalog, int(mine[k])), "similarity": round(float(sims[k]), 4)}
            for k in order]
