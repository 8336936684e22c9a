"""A learned preference as a rule in the catalog's own fields, and how one is inferred from an
edit (CIPHER's "infer the latent preference", grounded in the items instead of free text).

A rule says what to keep off a list in one kind of situation: values never to show
(``exclude``: "no Horror"), values to rank down (``less``: one removal is too little evidence
to forbid), number ranges (``ranges``: "nothing before 1990") and, for raw-edit retrieval,
the very items taken off (``items``).

``infer`` reads the difference between what a person took off a list and what they kept: a
value every removed item has and no kept item has explains the edit. A value that explains
one removal only ranks down; two or more make it a filter.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recsys.catalog import Catalog

MIN_SUPPORT = 20  # a keyword value on fewer items is too particular to learn as a taste
MIN_FILTER_EVIDENCE = 2  # removed items sharing a value before it becomes a filter


@dataclass
class Rule:
    exclude: dict[str, list[str]] = field(default_factory=dict)
    less: dict[str, list[str]] = field(default_factory=dict)
    ranges: dict[str, list[float | None]] = field(default_factory=dict)  # [lo, hi]
    items: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.exclude or self.less or self.ranges or self.items)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Rule:
        data = copy.deepcopy(data or {})  # a rule is edited in place (the planner drops
        # what the message asks for): never through the caller's dicts
        return cls(**{k: data[k] for k in ("exclude", "less", "ranges", "items") if k in data})

    def describe(self, catalog: Catalog | None = None) -> str:
        """A short reading of the rule ("no Horror; nothing before 1990")."""
        parts = [f"no {', '.join(v)}" for v in self.exclude.values()]
        parts += [f"fewer {', '.join(v)}" for v in self.less.values()]
        for name, (lo, hi) in self.ranges.items():
            unit = (catalog.info(name).unit or "") if catalog is not None else ""
            label = "" if name == "year" else f"{name} "
            if lo is not None and hi is None:
                parts.append(f"nothing before {lo:g}" if name == "year" else
                             f"{label}at least {lo:g}{unit and ' ' + unit}")
            elif hi is not None and lo is None:
                parts.append(f"nothing after {hi:g}" if name == "year" else
                             f"{label}at most {hi:g}{unit and ' ' + unit}")
            elif lo is not None and hi is not None:
                parts.append(f"{label}{lo:g}-{hi:g}{unit and ' ' + unit}")
        if self.items:
            parts.append(f"not these {len(self.items)} again")
        return "; ".join(parts)

    def admits(self, catalog: Catalog, item: int) -> bool:
        """Whether ``item`` passes the hard part of the rule (exclusions, ranges, items)."""
        attrs = catalog.item_attributes(item)
        if any(v in attrs.get(f, []) for f, vs in self.exclude.items() for v in vs):
            return False
        for name, (lo, hi) in self.ranges.items():
            x = _number(catalog, name, item)
            if x is None:
                continue
            if (lo is not None and x < lo) or (hi is not None and x > hi):
                return False
        return catalog.item_ids[item] not in self.items


def _number(catalog: Catalog, name: str, item: int) -> float | None:
    if name == "year":
        y = catalog.year(item)
        return None if y is None else float(y)
    return catalog.number(name, item)


def merge(rules: list[Rule]) -> Rule:
    """Several rules as one, oldest first: values add up; on a conflict the newest wins (a
    newer range replaces an older one; a value newly forbidden is no longer just ranked
    down, one newly ranked down is no longer forbidden)."""
    out = Rule()
    for r in rules:
        for f, vs in r.less.items():
            for v in vs:
                _drop(out.exclude, f, v)
                _add(out.less, f, v)
        for f, vs in r.exclude.items():
            for v in vs:
                _drop(out.less, f, v)
                _add(out.exclude, f, v)
        out.ranges.update({k: list(v) for k, v in r.ranges.items()})
        out.items += [i for i in r.items if i not in out.items]
    return out


def part_of(rule: Rule, applied: Rule) -> Rule:
    """What of ``rule`` the ``applied`` one holds, as applied (a value forbidden in ``rule``
    but only ranked down in ``applied`` is ranked down; a bound replaced by another is gone):
    what a recalled preference still contributes after merging or aggregating."""
    out = Rule()
    for part in (rule.exclude, rule.less):
        for f, vs in part.items():
            for v in vs:
                if v in applied.exclude.get(f, []):
                    _add(out.exclude, f, v)
                elif v in applied.less.get(f, []):
                    _add(out.less, f, v)
    for name, (lo, hi) in rule.ranges.items():
        a_lo, a_hi = applied.ranges.get(name, [None, None])
        kept = [lo if lo is not None and lo == a_lo else None,
                hi if hi is not None and hi == a_hi else None]
        if kept != [None, None]:
            out.ranges[name] = kept
    out.items = [i for i in rule.items if i in applied.items]
    return out


def _add(d: dict[str, list[str]], f: str, v: str) -> None:
    d.setdefault(f, [])
    if v not in d[f]:
        d[f].append(v)


def _drop(d: dict[str, list[str]], f: str, v: str) -> None:
    if v in d.get(f, []):
        d[f].remove(v)
        if not d[f]:
            del d[f]


def learnable_fields(catalog: Catalog) -> list[str]:
    """Fields a taste can be stated in: the genre-like field and the spec's categorical
    fields first, then keywords (values with enough support only); never people or titles."""
    from agent.nlu import lexicon_for

    genre = lexicon_for(catalog).genre_field
    cats = [f for f in catalog.attributes if catalog.info(f).kind == "categorical"]
    keys = [f for f in catalog.attributes if catalog.info(f).kind == "keywords"]
    return list(dict.fromkeys([*([genre] if genre else []), *cats, *keys]))


def infer(catalog: Catalog, shown: list[int], kept: list[int]) -> Rule | None:
    """The rule that explains taking ``shown`` minus ``kept`` off a list; None if nothing
    in the catalog's fields does (the removed items are remembered one by one elsewhere)."""
    removed = [i for i in shown if i not in set(kept)]
    if not removed:
        return None
    rule = Rule()
    uncovered = set(removed)
    strength: list[int] = []  # removed items each filter explains
    fields = learnable_fields(catalog)
    kept_values = {(f, v) for i in kept for f in fields
                   for v in catalog.item_attributes(i).get(f, [])}
    while uncovered:
        best = _best_value(catalog, fields, removed, uncovered, kept_values)
        if best is None:
            break
        f, v, covers = best
        # only a catalog-wide field filters; a keyword is on too few items to forbid by
        strong = len(covers) >= MIN_FILTER_EVIDENCE and catalog.info(f).kind != "keywords"
        _add(rule.exclude if strong else rule.less, f, v)
        if strong:
            strength.append(len(covers))
        uncovered -= covers
        kept_values.add((f, v))  # one value per explanation
    # "nothing before 1990" may explain more of the edit than the values' filters do, or as
    # much in one bound where they need several
    strong = sum(strength)
    span = _range(catalog, removed, kept)
    if span is not None and (span[1] > strong or (span[1] == strong and len(strength) > 1)):
        rule = Rule(ranges={span[0][0]: span[0][1]})
    return None if rule.empty else rule


def _best_value(catalog: Catalog, fields: list[str], removed: list[int], uncovered: set[int],
                kept_values: set[tuple[str, str]]) -> tuple[str, str, set[int]] | None:
    """The value on most uncovered removed items and on no kept item; ties go to the earlier
    field (genre first), then to the rarer value in the catalog (the narrower reading)."""
    counts: dict[tuple[str, str], set[int]] = {}
    for i in removed:
        for f in fields:
            for v in catalog.item_attributes(i).get(f, []):
                if (f, v) not in kept_values:
                    counts.setdefault((f, v), set()).add(i)
    best, best_key = None, None
    for (f, v), items in counts.items():
        cover = items & uncovered
        if not cover:
            continue
        a = catalog.attributes[f]
        n = int(a.by_value[:, a.value_index[v]].nnz)
        if catalog.info(f).kind == "keywords" and n < MIN_SUPPORT:
            continue
        key = (-len(cover), fields.index(f), n)
        if best_key is None or key < best_key:
            best, best_key = (f, v, cover), key
    return best


def _range(catalog: Catalog, removed: list[int], kept: list[int]
           ) -> tuple[tuple[str, list[float | None]], int] | None:
    """A bound on a number (the year, a runtime) that the removed items are on the wrong side
    of and every kept item passes: ((field, [lo, hi]), how many removed it explains)."""
    names = ["year", *catalog.numbers]
    best = None
    for name in names:
        kv = [x for i in kept if (x := _number(catalog, name, i)) is not None]
        rv = [x for i in removed if (x := _number(catalog, name, i)) is not None]
        if not kv or not rv:
            continue
        step = 10.0 if name == "year" else 10.0 ** max(0, math.floor(math.log10(max(kv))) - 1)
        lo_k, hi_k = min(kv), max(kv)
        older = [x for x in rv if x < lo_k]
        newer = [x for x in rv if x > hi_k]
        for side, hits in (("lo", older), ("hi", newer)):
            if len(hits) < MIN_FILTER_EVIDENCE:
                continue
            if side == "lo":  # round down to the decade (a "nothing before 1990" reading)
                bound = math.floor(lo_k / step) * step
                bound = bound if bound > max(hits) else max(hits) + 1
                bounds: list[float | None] = [bound, None]
            else:
                bound = math.ceil(hi_k / step) * step
                bound = bound if bound < min(hits) else min(hits) - 1
                bounds = [None, bound]
            if best is None or len(hits) > best[1]:
                best = ((name, bounds), len(hits))
    return best


def from_reason(catalog: Catalog, reason: dict[str, Any] | None, removed: list[int]
                ) -> Rule | None:
    """The rule a person said when turning items down ("too long", "too violent"), kept only
    where it explains at least one removed item: a range the item falls outside, a value it
    has (ranked down: one reason for one film is not yet a ban)."""
    if not reason or not removed:
        return None
    said = Rule(less={f: list(v) for f, v in (reason.get("less") or {}).items()},
                ranges={f: list(r) for f, r in (reason.get("ranges") or {}).items()})
    rule = Rule()
    for f, values in said.less.items():
        have = {v for i in removed for v in catalog.item_attributes(i).get(f, [])}
        rule.less.update({f: [v for v in values if v in have]} if set(values) & have else {})
    for name, bounds in said.ranges.items():
        if any(not Rule(ranges={name: bounds}).admits(catalog, i) for i in removed):
            rule.ranges[name] = bounds
    return None if rule.empty else rule


def removed_items(catalog: Catalog, shown: list[int], kept: list[int]) -> Rule | None:
    """Raw-edit memory (the ICL-edit baseline): the very items taken off, no reading of why."""
    gone = [catalog.item_ids[i] for i in shown if i not in set(kept)]
    return Rule(items=gone) if gone else None
