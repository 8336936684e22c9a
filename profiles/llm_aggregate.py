"""CIPHER's aggregation step with a language model: the model reads the request and the
preferences recalled for it (each: text, rule, the request it was learned in, when) and
writes the one preference to apply, as schema-constrained JSON in the catalog's fields.

Aggregating may leave a recalled preference out or reconcile two that disagree; it never
invents. The answer is used only when everything in it comes from the recalled rules: each
value on a field the catalog has and in one of the rules, each bound one a rule has on that
side. A value no recalled rule excluded stays "fewer" whatever the model says (it may soften
a ban, not harden a "fewer": two removals make a ban, as in ``rules.infer``). Anything else
(invalid JSON, a timeout, an invented value, a contradiction, an empty answer) and the
deterministic merge (``rules.merge``: newest wins) answers instead.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from profiles.llm_infer import SCHEMA
from profiles.rules import Rule, learnable_fields, merge

if TYPE_CHECKING:
    from agent.llm.base import ChatModel
    from recsys.catalog import Catalog

log = logging.getLogger(__name__)
UNUSABLE = ("malformed", "timeout", "invented", "empty")  # why a reply was not used


def _prompt() -> str:
    return (resources.files("profiles") / "prompts" / "aggregate.md").read_text(
        encoding="utf-8")


@dataclass
class Tally:
    """What the aggregator did, for the turn trace and the benchmark."""

    calls: int = 0
    by_llm: int = 0
    unusable: dict[str, int] = field(default_factory=lambda: dict.fromkeys(UNUSABLE, 0))
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)  # the first unusable replies, as said

    def to_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "by_llm": self.by_llm, "unusable": dict(self.unusable),
                "unusable_total": sum(self.unusable.values()),
                "s_per_call": round(self.seconds / self.calls, 2) if self.calls else None,
                "unusable_examples": list(self.examples)}


class LLMAggregate:
    """The recalled preferences as one rule, by the model, checked; ``merge`` as fallback."""

    def __init__(self, llm: ChatModel, *, max_tokens: int = 160) -> None:
        self.llm, self.max_tokens = llm, max_tokens
        self.tally = Tally()

    def aggregate(self, catalog: Catalog, request: str, recalled: list[dict[str, Any]]
                  ) -> tuple[Rule, str]:
        """(the rule to apply, who wrote it: "llm" or "merge").

        ``recalled``: the remembered preferences as ``Remembered.to_json`` dicts (their
        ``rule`` already stripped of what the request itself asks for), oldest first."""
        rules = [Rule.from_json(m.get("rule")) for m in recalled]
        fallback = merge(rules)
        # one preference (or raw item edits only) leaves nothing to reconcile
        if sum(not _readable(r).empty for r in rules) < 2:
            return fallback, "merge"
        from agent.llm.base import LLMError, LLMTimeoutError, Message

        self.tally.calls += 1
        t0 = time.perf_counter()
        why, said = "", ""
        try:
            out = self.llm.generate(
                [Message.system(_prompt()),
                 Message.user(describe_recalled(catalog, request, recalled))],
                schema=SCHEMA, max_tokens=self.max_tokens, temperature=0.0)
            said = out.text
            proposal = out.json if isinstance(out.json, dict) else json.loads(out.text)
            rule, why = checked(catalog, proposal, rules)
        except LLMTimeoutError as e:
            rule, why = None, "timeout"
            log.warning("preference aggregation by %s timed out: %s", self.llm.name, e)
        except (LLMError, ValueError, TypeError) as e:  # a broken reply is not the person's
            rule, why = None, "malformed"
            log.warning("preference aggregation by %s failed: %s", self.llm.name, e)
        self.tally.seconds += time.perf_counter() - t0
        if rule is None:
            self.tally.unusable[why] += 1
            if len(self.tally.examples) < 3:
                self.tally.examples.append(f"{why}: {said[:300]}")
            return fallback, "merge"
        self.tally.by_llm += 1
        rule.items = list(fallback.items)  # raw item edits are not the model's to judge
        return rule, "llm"


def _readable(rule: Rule) -> Rule:
    """The part of a rule the model reads (not the raw items of an ICL edit)."""
    return Rule(exclude=rule.exclude, less=rule.less, ranges=rule.ranges)


def describe_recalled(catalog: Catalog, request: str, recalled: list[dict[str, Any]]) -> str:
    """The prompt's facts: the request, then each recalled preference. The catalog's other
    fields are left out: named, the 0.5B model filled them in ("no English")."""
    lines = [f"Request: {request or '(none)'}", "Remembered preferences (oldest first):"]
    for n, m in enumerate(recalled, 1):
        rule = _readable(Rule.from_json(m.get("rule"))).to_json()
        rule.pop("items", None)
        where = f"learned for “{m['context']}”" if m.get("context") else "said by the person"
        when = f" on {m['learned_at'][:10]}" if m.get("learned_at") else ""
        lines.append(f"{n}. {m.get('text', '')} ({where}{when}): {json.dumps(rule)}")
    return "\n".join(lines)


def checked(catalog: Catalog, proposal: Any, rules: list[Rule]) -> tuple[Rule | None, str]:
    """(the proposal as a rule, "") when all of it comes from ``rules``; else (None, why)."""
    if not isinstance(proposal, dict):
        return None, "malformed"
    fields = set(learnable_fields(catalog))
    excluded = {(f, v) for r in rules for f, vs in r.exclude.items() for v in vs}
    recalled = excluded | {(f, v) for r in rules for f, vs in r.less.items() for v in vs}
    rule = Rule()
    for part in ("exclude", "less"):
        said = proposal.get(part) or {}
        if not isinstance(said, dict):
            return None, "malformed"
        for f, values in said.items():
            a = catalog.attributes.get(f)
            if not isinstance(values, list):
                return None, "malformed"
            if not values:  # an empty list says nothing, under any name
                continue
            if f not in fields or a is None:
                return None, "invented"
            fold = {v.casefold(): v for v in a.values}
            for raw in values:
                v = fold.get(str(raw).casefold().strip())
                if v is None or (f, v) not in recalled:
                    return None, "invented"
                # a ban needs a recalled ban: a "fewer" stays fewer
                ban = part == "exclude" and (f, v) in excluded
                target = rule.exclude if ban else rule.less
                if v not in target.get(f, []):
                    target.setdefault(f, []).append(v)
    ranges = proposal.get("ranges") or {}
    if not isinstance(ranges, dict):
        return None, "malformed"
    for name, bounds in ranges.items():
        if not isinstance(bounds, list) or len(bounds) != 2:
            return None, "malformed"
        known = [r.ranges[name] for r in rules if name in r.ranges]
        if not known:
            return None, "invented"
        try:
            lo, hi = (None if b is None else float(b) for b in bounds)
        except (TypeError, ValueError):
            return None, "malformed"
        if (lo is not None and lo not in {k[0] for k in known}) or \
                (hi is not None and hi not in {k[1] for k in known}):
            return None, "invented"
        if lo is not None and hi is not None and lo > hi:
            return None, "invented"  # two bounds that no one film can meet: a contradiction
        if lo is not None or hi is not None:
            rule.ranges[name] = [lo, hi]
    for f in list(rule.less):  # a value both excluded and ranked down is excluded
        rule.less[f] = [v for v in rule.less[f] if v not in rule.exclude.get(f, [])]
        if not rule.less[f]:
            del rule.less[f]
    return (None, "empty") if rule.empty else (rule, "")
