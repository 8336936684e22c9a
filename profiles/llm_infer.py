"""CIPHER's inference step with a language model: the model reads the request, the items a
person took off a list and the ones they kept (each with its catalog values), and states the
preference as schema-constrained JSON in the catalog's fields.

What the model says is kept only where the items bear it out: a value must be on an item
taken off and on no item kept (and on two taken off before it may exclude; keywords only
rank down, as in ``rules.infer``), a bound must pass every kept item and fail one taken off.
When nothing the model said survives (invalid JSON, a timeout, a guess the items do not
support), the attribute reading (``rules.infer``) answers instead, and says so.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import TYPE_CHECKING, Any

from profiles.rules import MIN_FILTER_EVIDENCE, MIN_SUPPORT, Rule, infer, learnable_fields

if TYPE_CHECKING:
    from agent.llm.base import ChatModel
    from recsys.catalog import Catalog

log = logging.getLogger(__name__)
MAX_VALUES = 8  # values per item in the prompt (strongest first): enough to tell items apart
_VALUES = {"type": "object", "additionalProperties": {"type": "array",
                                                       "items": {"type": "string"}}}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "exclude": _VALUES,
        "less": _VALUES,
        "ranges": {"type": "object", "additionalProperties": {
            "type": "array", "minItems": 2, "maxItems": 2,
            "items": {"type": ["number", "null"]}}},
        "statement": {"type": "string"},
    },
    "required": ["exclude", "less", "ranges"],
}


def _prompt() -> str:
    return (resources.files("profiles") / "prompts" / "infer.md").read_text(encoding="utf-8")


class LLMInfer:
    """An ``Infer`` for ``Cipher``: the model's reading, checked against the items."""

    def __init__(self, llm: ChatModel, *, max_tokens: int = 160) -> None:
        self.llm, self.max_tokens = llm, max_tokens

    def __call__(self, catalog: Catalog, shown: list[int], kept: list[int],
                 context: str = "") -> Rule | None:
        return self.read(catalog, shown, kept, context)[0]

    def read(self, catalog: Catalog, shown: list[int], kept: list[int], context: str = ""
             ) -> tuple[Rule | None, str]:
        """(the rule, who read it: "llm" or "rules" when the model's reading was unusable)."""
        removed = [i for i in shown if i not in set(kept)]
        if not removed:
            return None, "rules"
        from agent.llm.base import LLMError, Message

        try:
            out = self.llm.generate(
                [Message.system(_prompt()),
                 Message.user(describe_edit(catalog, context, removed, kept))],
                schema=SCHEMA, max_tokens=self.max_tokens, temperature=0.0)
            proposal = out.json if isinstance(out.json, dict) else json.loads(out.text)
            rule = checked(catalog, proposal, removed, kept)
        except (LLMError, ValueError, TypeError) as e:  # a broken reply is not the person's
            log.warning("preference inference by %s failed: %s", self.llm.name, e)
            rule = None
        if rule is not None:
            return rule, "llm"
        return infer(catalog, shown, kept), "rules"


def describe_edit(catalog: Catalog, context: str, removed: list[int], kept: list[int]) -> str:
    """The prompt's facts: the request, then each item taken off and kept with its values."""
    fields = learnable_fields(catalog)
    numbers = ["year", *catalog.numbers]

    def item(i: int) -> str:
        attrs = catalog.item_attributes(i)
        parts = [f"{f}: {', '.join(attrs[f][:MAX_VALUES])}" for f in fields if attrs.get(f)]
        for name in numbers:
            x = catalog.year(i) if name == "year" else catalog.number(name, i)
            if x is not None:
                parts.append(f"{name}: {x:g}")
        return f"- {catalog.titles[i]} ({'; '.join(parts)})"

    lines = [f"Request: {context or '(none)'}",
             f"Fields: {', '.join(fields)}; numbers: {', '.join(numbers)}",
             "Taken off:", *map(item, removed), "Kept:", *map(item, kept)]
    return "\n".join(lines)


def checked(catalog: Catalog, proposal: Any, removed: list[int], kept: list[int]
            ) -> Rule | None:
    """The part of the model's proposal the items bear out (see the module docstring)."""
    if not isinstance(proposal, dict):
        return None
    fields = set(learnable_fields(catalog))
    rule = Rule()
    have_removed = _values(catalog, removed, fields)
    have_kept = _values(catalog, kept, fields)
    for part in ("exclude", "less"):
        for f, values in (proposal.get(part) or {}).items():
            a = catalog.attributes.get(f)
            if f not in fields or a is None or not isinstance(values, list):
                continue
            fold = {v.casefold(): v for v in a.values}
            for raw in values:
                v = fold.get(str(raw).casefold().strip())
                if v is None or (f, v) in have_kept:
                    continue
                on = have_removed.get((f, v), 0)
                if not on:
                    continue
                keywords = catalog.info(f).kind == "keywords"
                if keywords and int(a.by_value[:, a.value_index[v]].nnz) < MIN_SUPPORT:
                    continue
                strong = part == "exclude" and on >= MIN_FILTER_EVIDENCE and not keywords
                target = rule.exclude if strong else rule.less
                if v not in target.get(f, []) and v not in rule.exclude.get(f, []):
                    target.setdefault(f, []).append(v)
    numbers = {"year", *catalog.numbers}
    for name, bounds in (proposal.get("ranges") or {}).items():
        if name not in numbers or not isinstance(bounds, list) or len(bounds) != 2:
            continue
        lo, hi = (None if b is None else float(b) for b in bounds)
        if lo is None and hi is None:
            continue
        r = Rule(ranges={name: [lo, hi]})
        if all(r.admits(catalog, i) for i in kept) and \
                sum(not r.admits(catalog, i) for i in removed) >= MIN_FILTER_EVIDENCE:
            rule.ranges[name] = [lo, hi]
    for f in list(rule.less):  # a value both excluded and ranked down is excluded
        rule.less[f] = [v for v in rule.less[f] if v not in rule.exclude.get(f, [])]
        if not rule.less[f]:
            del rule.less[f]
    return None if rule.empty else rule


def _values(catalog: Catalog, items: list[int], fields: set[str]) -> dict[tuple[str, str], int]:
    """(field, value) -> on how many of ``items``."""
    out: dict[tuple[str, str], int] = {}
    for i in items:
        for f, vs in catalog.item_attributes(i).items():
            if f in fields:
                for v in vs:
                    out[(f, v)] = out.get((f, v), 0) + 1
    return out
