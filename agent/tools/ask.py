"""ask_attribute: the graph policy's most informative yes/no question over the candidates."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from agent.tools.base import Tool, ToolError
from agent.tools.bus import ToolContext


class AskAttribute(Tool):
    name = "ask_attribute"
    description = ("Choose the attribute value worth asking the user about next: the one "
                   "whose yes/no answer best splits the current candidates, weighted by how "
                   "likely this user is to want each one. Does not change the candidates.")
    inputs = {
        "type": "object",
        "properties": {
            "fields": {"type": "array", "items": {"type": "string"},
                       "description": "only ask about these attribute fields"},
        },
        "additionalProperties": False,
    }

    def run(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        from agent.policies.graph import GraphPolicy, binary_entropy
        from agent.state import DialogueState

        fields = args.get("fields") or list(ctx.catalog.attributes)
        unknown = [f for f in fields if f not in ctx.catalog.attributes]
        if unknown:
            raise ToolError(f"ask_attribute: unknown field(s) {', '.join(unknown)}; "
                            f"fields: {', '.join(ctx.catalog.attributes)}")
        pctx = ctx.policy()
        n = ctx.catalog.n_items
        state = ctx.state or DialogueState.start(-1 if ctx.user is None else ctx.user, n)
        cand = ctx.bus.sorted_items()
        if cand is None:
            cand = state.candidates
        gone = ctx.shown_or_rejected()
        items: np.ndarray | None = None
        if ctx.user is None and len(cand) == n and ctx.bus.deferred is None:
            # a new user and the whole catalog: every item equally likely, the mass from
            # counts (a pass over 1M candidates would cost the whole turn's budget)
            mass, left = pctx.uniform_mass(gone)
        else:
            items = np.setdiff1d(cand, gone).astype(np.int32)
            if not len(items):
                return {"candidates": 0, "field": None, "value": None}
            if ctx.user is None:  # a new user: every candidate equally likely
                p = np.full(len(items), 1.0 / max(len(items), 1))
            else:
                items, p = GraphPolicy(pctx).belief(replace(state, user=ctx.user,
                                                            candidates=items))
            mass, left = pctx.attribute_mass(items, p), len(items)
        if not left:
            return {"candidates": 0, "field": None, "value": None}
        out: dict[str, Any] = {"candidates": left, "field": None, "value": None}
        if state.asked:
            mass[pctx.cols(a for a in state.asked if a in pctx.mats.attr_index)] = 0.0
        allowed = np.array([a[0] in fields for a in pctx.mats.attributes], dtype=bool)
        gain = np.where(allowed & (mass > 0), binary_entropy(np.clip(mass, 0, 1)), 0.0)
        best = int(np.argmax(gain))
        if gain[best] < 1e-6:  # every remaining question has a foregone answer
            return out
        fld, value = pctx.mats.attributes[best]
        having = int(round(mass[best] * left)) if items is None else \
            int(pctx.has(items, (fld, value)).sum())
        out.update(field=fld, value=value, yes_probability=round(float(mass[best]), 4),
                   split={"with": having, "without": left - having})
        return out
