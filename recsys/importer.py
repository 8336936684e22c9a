"""Turn a catalog spec and its files into a validated ``Catalog``, and store it.

Every row is validated; any problem (file, line, field, reason) stops the import before the
database is touched, so a bad file never leaves a half-imported catalog behind.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.catalog import (
    YEAR_UNKNOWN,
    Audience,
    Catalog,
    FieldInfo,
    Interactions,
    ItemAttributes,
    Words,
)
from recsys.errors import CatalogValidationError, RowProblem, SpecError
from recsys.reader import FileProblem, read_rows
from recsys.settings import Settings
from recsys.spec import (
    AttributeColumn,
    CatalogSpec,
    FieldMeta,
    FileSpec,
    InteractionsSpec,
    JoinSpec,
    YearSpec,
    load_spec,
    spec_digest,
)

MAX_SHOWN = 20
DEFAULT_SCALE = (0.0, 5.0)  # ratings without a declared rating_scale


class _Problems:
    def __init__(self) -> None:
        self.shown: list[RowProblem] = []
        self.total = 0

    def add(self, p: RowProblem) -> None:
        self.total += 1
        if len(self.shown) < MAX_SHOWN:
            self.shown.append(p)


@dataclass
class ImportResult:
    """What ``import_catalog`` did."""

    name: str
    status: str  # "imported" | "replaced" | "unchanged"
    n_items: int
    n_users: int
    n_interactions: int
    fingerprint: str
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)  # by file, what, how many


def resolve_root(spec: CatalogSpec, spec_path: Path, settings: Settings) -> Path:
    """Directory holding the spec's files."""
    if spec.root:
        return (spec_path.parent / spec.root).resolve()
    if spec.dataset:
        return settings.datasets_dir / spec.dataset
    return spec_path.parent.resolve()


def file_paths(spec: CatalogSpec, root: Path, settings: Settings, *,
               fetch_missing: bool = True, progress: bool | None = None
               ) -> Callable[[FileSpec], Path]:
    """Where each file of the spec is: its own root, or the dataset it names (side data)."""
    from recsys.datasets import fetch, get_dataset, is_fetched

    roots: dict[str, Path] = {}
    for f in spec.files():
        if f.dataset and f.dataset not in roots:
            ds = get_dataset(f.dataset)
            if fetch_missing and not is_fetched(ds, settings):
                fetch(ds, settings, progress=progress)
            roots[f.dataset] = settings.datasets_dir / ds.name
    return lambda f: (roots[f.dataset] if f.dataset else root) / f.file


def fingerprint(spec: CatalogSpec, root: Path,
                path_of: Callable[[FileSpec], Path] | None = None) -> str:
    """Identity of a catalog's content: the spec's meaning and every file's bytes."""
    where_is = path_of or (lambda f: root / f.file)
    h = hashlib.sha256(spec_digest(spec).encode())
    for f in spec.files():
        path = where_is(f)
        if not path.is_file():
            ds = f.dataset or spec.dataset
            raise SpecError(f"catalog file '{path}' not found"
                            + (f"; run `tastebud data fetch {ds}`" if ds else ""))
        with path.open("rb") as fh:
            h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()[:16]


def _text(v: Any) -> str:
    return "" if v is None else str(v).strip()


def _int(v: Any, what: str) -> int:
    s = _text(v)
    try:
        return int(s)
    except ValueError:
        try:
            f = float(s)
        except ValueError:
            raise ValueError(f"{what} '{s}' is not a number") from None
        if not f.is_integer():
            raise ValueError(f"{what} '{s}' is not a whole number") from None
        return int(f)


def _timestamp(v: Any) -> int:
    s = _text(v)
    try:
        return _int(s, "timestamp")
    except ValueError:
        try:  # ISO 8601 dates are common in exported logs
            return int(datetime.fromisoformat(s).timestamp())
        except ValueError:
            raise ValueError(f"timestamp '{s}' is neither epoch seconds nor an ISO date") from None


def _float(v: Any, what: str) -> float:
    s = _text(v)
    try:
        f = float(s)
    except ValueError:
        raise ValueError(f"{what} '{s}' is not a number") from None
    if not math.isfinite(f):
        raise ValueError(f"{what} '{s}' is not a finite number")
    return f


def _values(v: Any, split: str | None, lowercase: bool, ignore: list[str]) -> list[str]:
    if isinstance(v, list):
        parts = [_text(x) for x in v]
    elif split:
        parts = [p.strip() for p in _text(v).split(split)]
    else:
        parts = [_text(v)]
    out = []
    for p in parts:
        if not p or p in ignore:
            continue
        out.append(p.lower() if lowercase else p)
    return out


def _event_fields(f: InteractionsSpec, row: dict, line: int
                  ) -> tuple[tuple[float, float, int], RowProblem | None]:
    """Rating, weight and timestamp of one event row, or the first bad field."""
    out: list[Any] = []
    for col, conv, default in ((f.rating, lambda v: _float(v, "rating"), math.nan),
                               (f.weight, lambda v: _float(v, "weight"), 1.0),
                               (f.timestamp, _timestamp, -1)):
        if not col:
            out.append(default)
            continue
        try:
            out.append(conv(row[col]))
        except ValueError as e:
            return (math.nan, 1.0, -1), RowProblem(f.file, line, col, str(e))
    r, w, t = out
    bad = None
    if f.rating_scale and not f.rating_scale[0] <= r <= f.rating_scale[1]:
        lo, hi = f.rating_scale
        bad = RowProblem(f.file, line, f.rating or "", f"rating {r:g} is outside the spec's "
                         f"rating_scale [{lo:g}, {hi:g}]")
    elif f.rating and not f.rating_scale and not 0 <= r <= DEFAULT_SCALE[1]:
        # the models read 4 and up as liked: a 1-10 scale must be declared and rescaled
        bad = RowProblem(f.file, line, f.rating, f"rating {r:g} is outside 0-5, the scale "
                         "ratings are read on; for another scale declare rating_scale = "
                         "[lowest, highest] and rescale_to = [1, 5] in the spec")
    elif f.weight and w < 0:
        bad = RowProblem(f.file, line, f.weight, f"weight {w:g} is negative")
    elif f.timestamp and t < 0:
        bad = RowProblem(f.file, line, f.timestamp, f"timestamp {t} is before 1970")
    if bad:
        return (math.nan, 1.0, -1), bad
    return (r, w, t), None


def _make_year(spec: str | YearSpec | None) -> tuple[str | None, Callable[[Any], int | None]]:
    if spec is None:
        return None, lambda v: None
    if isinstance(spec, str):
        def from_column(v: Any) -> int | None:
            return None if not _text(v) else _check_year(_int(v, "year"))
        return spec, from_column
    rx = re.compile(spec.pattern) if spec.pattern else None

    def extract(v: Any) -> int | None:
        s = _text(v)
        if rx is None:
            return None if not s else _check_year(_int(s, "year"))
        m = rx.search(s)  # no match: the item simply has no year (e.g. some MovieLens titles)
        return _check_year(int(m.group(1))) if m else None
    return spec.column, extract


def _check_year(y: int) -> int:
    if not 1000 <= y <= 2999:
        raise ValueError(f"year {y} is outside 1000..2999")
    return y


class _Report:
    """What an import left out on purpose (rows the spec says to skip, unsupported values)."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}

    def add(self, where: str, what: str, n: int = 1) -> None:
        if n:
            d = self.counts.setdefault(where, {})
            d[what] = d.get(what, 0) + n


def _norm_key(how: str) -> Callable[[Any], str]:
    if how == "digits":
        def digits(v: Any) -> str:
            d = re.sub(r"\D", "", _text(v))
            return str(int(d)) if d else ""
        return digits
    if how == "lower":
        return lambda v: _text(v).lower()
    return _text


def _field_values(a: AttributeColumn, row: dict) -> list[str]:
    """The values of one field in one row (flag columns: the names of those set to 1)."""
    if a.flags is not None:
        return [f for f in a.flags if f not in a.ignore
                and _text(row[f]) not in ("", "0", "0.0", "false", "False")]
    cell = row[a.column]
    if a.member:
        cell = [o.get(a.member) for o in _objects(cell) if isinstance(o, dict)]
    vals = _values(cell, a.split, a.lowercase, a.ignore)
    return vals[: a.max_values] if a.max_values else vals


def _objects(cell: Any) -> list[Any]:
    """A list held in a cell as JSON or as a Python literal (``[{'id': 1, 'name': 'x'}]``)."""
    if isinstance(cell, list):
        return cell
    s = _text(cell)
    if not s:
        return []
    try:
        out = json.loads(s)
    except ValueError:
        import ast

        try:
            out = ast.literal_eval(s)
        except (ValueError, SyntaxError) as e:
            raise ValueError(f"not a JSON or Python list: {e}") from None
    return out if isinstance(out, list) else []


class _Fields:
    """Values of every item field, filled from the items file, attribute files and joins."""

    def __init__(self, n_items: int, metas: dict[str, FieldMeta]) -> None:
        self.n = n_items
        self.metas = metas
        self.pairs: dict[str, list[tuple[int, str, float, str]]] = {}  # (item, value, w, user)
        self.numbers: dict[str, np.ndarray] = {}
        self.notes: dict[str, list[str | None]] = {}
        self.filled: dict[str, set[int]] = {}

    def kind(self, name: str) -> str:
        m = self.metas.get(name)
        return m.kind if m else "categorical"

    def put(self, name: str, item: int, a: AttributeColumn, row: dict, file: str, line: int
            ) -> RowProblem | None:
        """Set ``name`` of ``item`` from ``row`` unless an earlier source already did."""
        kind = self.kind(name)
        done = self.filled.setdefault(name, set())
        if item in done:
            return None
        if kind == "number":
            s = _text(row[a.column])
            if not s or s in a.ignore:
                return None
            try:
                v = _float(s, name)
            except ValueError as e:
                return RowProblem(file, line, a.column or name, str(e))
            self.numbers.setdefault(name, np.full(self.n, np.nan, np.float32))[item] = v
        elif kind == "text":
            s = _text(row[a.column])
            if not s or s in a.ignore:
                return None
            self.notes.setdefault(name, [None] * self.n)[item] = s
        else:
            try:
                vals = _field_values(a, row)
            except ValueError as e:
                return RowProblem(file, line, a.column or name, str(e))
            if not vals:
                return None
            dest = self.pairs.setdefault(name, [])
            # a list's order (billing, relevance) survives as slightly falling weights
            dest.extend((item, v, 1.0 - 1e-3 * min(k, 500), "") for k, v in enumerate(vals))
        done.add(item)
        return None

    def attributes(self, report: _Report) -> dict[str, ItemAttributes]:
        out = {}
        for name, pairs in sorted(self.pairs.items()):
            meta = self.metas.get(name)
            if meta is not None and meta.min_support > 1:
                pairs = _supported(name, pairs, meta, report)
            out[name] = _attribute(name, [(i, v) for i, v, _, _ in pairs], self.n,
                                   [w for _, _, w, _ in pairs])
        return out


def _supported(name: str, pairs: list[tuple[int, str, float, str]], meta: FieldMeta,
               report: _Report) -> list[tuple[int, str, float, str]]:
    """Keep (item, value) pairs given at least ``min_support`` times (or by as many users)."""
    support: dict[tuple[int, str], Any] = {}
    for i, v, w, u in pairs:
        if meta.support == "users":
            support.setdefault((i, v), set()).add(u)
        else:
            support[(i, v)] = support.get((i, v), 0.0) + w
    ok = {k for k, s in support.items()
          if (len(s) if meta.support == "users" else s) >= meta.min_support}
    values_before = {v for _, v in support}
    values_after = {v for _, v in ok}
    report.add(f"field {name}", f"pairs below min_support {meta.min_support}",
               len(support) - len(ok))
    report.add(f"field {name}", "values dropped (no supported pair left)",
               len(values_before - values_after))
    return [p for p in pairs if (p[0], p[1]) in ok]


def _join_by_title(j: JoinSpec, where: str, titles: list[str], years: list[int],
                   rows: Callable[[FileSpec, list[str]], Any], fields: _Fields,
                   problems: _Problems, report: _Report) -> None:
    """Side rows without a shared id, matched to items by normalised title and year; only
    pairs unambiguous both ways are kept (see ``recsys.titlejoin``)."""
    from recsys.titlejoin import match_titles, title_keys

    m = j.match
    assert m is not None
    year_col, year_of = _make_year(m.year)
    cols = [m.title] + ([year_col] if year_col else [])
    cols += [c for a in j.fields.values() for c in a.columns()]
    cols = list(dict.fromkeys(cols))
    kept: list[tuple[str, int, dict]] = []
    keys: list[tuple[list[str], int | None]] = []
    same: list[object] = []
    for part in j.parts():
        for line, row in rows(part, cols):
            try:
                year = year_of(row[year_col]) if year_col else None
            except ValueError as e:
                problems.add(RowProblem(part.file, line, year_col or "year", str(e)))
                continue
            kept.append((part.file, line, row))
            keys.append((title_keys(_text(row[m.title])), year))
            # rows giving an item the same values (a film listed twice) are one candidate
            same.append(json.dumps([row[c] for c in cols if c not in (m.title, year_col)],
                                   sort_keys=True, default=str))
    found = match_titles([(title_keys(t), y if y != YEAR_UNKNOWN else None)
                          for t, y in zip(titles, years, strict=True)],
                         keys, tolerance=m.year_tolerance, use_years=year_col is not None,
                         same=same)
    for i, r in sorted(found.pairs.items()):
        file, line, row = kept[r]
        for name, a in j.fields.items():
            if (bad := fields.put(name, i, a, row, file, line)):
                problems.add(bad)
    report.add(where, "items matched", len(found.pairs))
    report.add(where, f"of those, with the year off by at most {m.year_tolerance}", found.near)
    report.add(where, "items left unmatched: title and year ambiguous", found.ambiguous)


def read_catalog(spec: CatalogSpec, root: Path, *, fp: str | None = None,
                 progress: bool | None = None,
                 path_of: Callable[[FileSpec], Path] | None = None) -> Catalog:
    """Read and validate every file of ``spec`` under ``root`` (``path_of`` places files of
    other datasets: side data)."""
    from tqdm.auto import tqdm

    where_is = path_of or (lambda f: root / f.file)
    problems = _Problems()
    report = _Report()
    bar = tqdm(total=len(spec.files()), desc=f"reading {spec.name}", unit="file",
               disable=progress is False or None)

    def rows(f: FileSpec, needed: list[str]):  # type: ignore[no-untyped-def]
        try:
            for line, row in read_rows(where_is(f), f, needed):
                if "__problem__" in row:
                    problems.add(row["__problem__"])
                    continue
                yield line, row
        except FileProblem as e:
            problems.add(e.problem)
            unreadable.add(f.file)
        bar.update()

    unreadable: set[str] = set()
    refused: set[str] = set()  # item ids whose rows were refused: not "unknown" again later
    follow_on = [0]

    def unknown(f: Any, line: int, col: str, ext: str, what: str = "item") -> None:
        """A row naming an id the catalog lacks: skipped and counted, or an error."""
        if what == "item" and ext in refused:
            follow_on[0] += 1  # the item's own row is the real problem, reported already
            return
        if f.on_unknown == "skip":
            report.add(f.file, f"rows naming an unknown {what} (skipped)")
        else:
            problems.add(RowProblem(f.file, line, col, f"{what} '{ext}' is not in {it.file}; "
                                    "fix the row, or set on_unknown = \"skip\" in the spec"))

    # items
    it = spec.items
    year_col, year_of = _make_year(it.year)
    needed = [it.id] + [c for c in (it.title, year_col, it.text) if c]
    needed += [c for a in it.attributes.values() for c in a.columns()]
    item_ids: list[str] = []
    titles: list[str] = []
    years: list[int] = []
    texts: list[str | None] = []
    index: dict[str, int] = {}
    item_rows: list[tuple[int, int, dict]] = []
    for line, row in rows(it, list(dict.fromkeys(needed))):
        where = (it.file, line)
        ext = _text(row[it.id])
        if not ext:
            problems.add(RowProblem(*where, it.id, "empty item id"))
            continue
        if ext in index:
            problems.add(RowProblem(*where, it.id, f"duplicate item id '{ext}'"))
            continue
        title = _text(row[it.title]) if it.title else (it.title_template or "").format(id=ext)
        if not title:
            problems.add(RowProblem(*where, it.title or "title", "empty title"))
            refused.add(ext)
            continue
        try:
            year = year_of(row[year_col]) if year_col else None
        except ValueError as e:
            problems.add(RowProblem(*where, year_col or "year", str(e)))
            refused.add(ext)
            continue
        i = len(item_ids)
        index[ext] = i
        item_ids.append(ext)
        titles.append(title)
        years.append(YEAR_UNKNOWN if year is None else year)
        texts.append(_text(row[it.text]) or None if it.text else None)
        if it.attributes:
            item_rows.append((line, i, row))
    if it.file in unreadable:  # every other file names its items: checking them says nothing
        bar.close()
        raise CatalogValidationError(problems.shown, problems.total,
                                     note=f"the other files were not checked: they name the "
                                          f"items of {it.file}, which could not be read")
    fields = _Fields(len(item_ids), spec.field_meta())
    for line, i, row in item_rows:
        for name, a in it.attributes.items():
            if (bad := fields.put(name, i, a, row, it.file, line)):
                problems.add(bad)

    # attribute files (a field may take values from several; each row adds)
    for af in spec.attributes:
        lookup: dict[str, str] | None = None
        if af.lookup:
            lk = af.lookup
            lookup = {_text(r[lk.key]): _text(r[lk.value])
                      for _, r in rows(lk, [lk.key, lk.value])}
        dest = fields.pairs.setdefault(af.field, [])
        cols = [af.item, af.value] + ([af.user] if af.user else [])
        for line, row in rows(af, cols):
            ext = _text(row[af.item])
            found = index.get(ext)
            if found is None:
                unknown(af, line, af.item, ext)
                continue
            raw = row[af.value]
            if lookup is not None:
                key = _text(raw)
                if key not in lookup:
                    problems.add(RowProblem(af.file, line, af.value,
                                            f"'{key}' is not a {af.lookup.key} in "  # type: ignore[union-attr]
                                            f"{af.lookup.file}"))  # type: ignore[union-attr]
                    continue
                raw = lookup[key]
            user = _text(row[af.user]) if af.user else ""
            for v in _values(raw, af.split, af.lowercase, af.ignore):
                dest.append((found, v, 1.0, user))

    # external keys, then side data joined by them
    by_key: dict[str, dict[str, list[int]]] = {}
    for k in spec.keys:
        m = by_key.setdefault(k.name, {})
        for _line, row in rows(k, [k.item, k.key]):
            i = index.get(_text(row[k.item]))
            if i is not None and (key := _text(row[k.key])):
                m.setdefault(key, []).append(i)
    for k, j in enumerate(spec.joins, 1):
        if j.match is not None:
            _join_by_title(j, f"join {k} ({j.source})", titles, years, rows, fields,
                           problems, report)
            continue
        norm = _norm_key(j.normalize)  # both sides, as this join says
        keyed: dict[str, list[int]] = {}
        for x, found in by_key[j.via].items() if j.via else ((x, [i]) for x, i in index.items()):
            if (nk := norm(x)):
                keyed.setdefault(nk, []).extend(found)
        cols = [j.key or ""] + [c for a in j.fields.values() for c in a.columns()]
        matched: set[int] = set()
        for part in j.parts():
            for line, row in rows(part, list(dict.fromkeys(cols))):
                for i in keyed.get(norm(row[j.key or ""]), ()):
                    matched.add(i)
                    for name, a in j.fields.items():
                        if (bad := fields.put(name, i, a, row, part.file, line)):
                            problems.add(bad)
        report.add(f"join {k} ({j.source})", "items matched", len(matched))

    # interactions
    users: dict[str, int] = {}
    cols_: dict[str, list[Any]] = {k: [] for k in ("u", "i", "r", "w", "t", "s")}
    has = {"r": False, "t": False, "s": False}
    for f in spec.interactions:
        lookup_item: Callable[[str], int | None] = index.get
        if f.via:  # items named by an external id (MovieTweetings by IMDb id)
            norm = _norm_key(f.normalize)
            ext_items = {norm(x): found[0] for x, found in by_key[f.via].items() if norm(x)}
            lookup_item = lambda x, m=ext_items, nm=norm: m.get(nm(x))  # noqa: E731
        needed = [f.user, f.item] + [c for c in (f.rating, f.weight, f.timestamp) if c]
        has["r"] |= f.rating is not None
        has["t"] |= f.timestamp is not None
        has["s"] |= f.split is not None
        for line, row in rows(f, needed):
            u = _text(row[f.user])
            if not u:
                problems.add(RowProblem(f.file, line, f.user, "empty user id"))
                continue
            raw_items = row[f.item] if isinstance(row[f.item], list) else [row[f.item]]
            parsed, bad = _event_fields(f, row, line)
            if bad:
                problems.add(bad)
                continue
            r, w, t = parsed
            if f.rescale_to and f.rating_scale and not math.isnan(r):
                (lo, hi), (to_lo, to_hi) = f.rating_scale, f.rescale_to
                r = to_lo + (r - lo) * (to_hi - to_lo) / (hi - lo)
            u = f.user_prefix + u
            for raw in raw_items:
                ext = _text(raw)
                item = lookup_item(ext)
                if item is None:
                    unknown(f, line, f.item, ext)
                    continue
                cols_["u"].append(users.setdefault(u, len(users)))
                cols_["i"].append(item)
                cols_["r"].append(r)
                cols_["w"].append(w)
                cols_["t"].append(t)
                cols_["s"].append(f.split or "")

    # user links
    links: dict[str, list[tuple[int, int]]] = {}
    for lf in spec.user_links:
        for _line, row in rows(lf, [lf.user, lf.other]):
            src = _text(row[lf.user])
            others = row[lf.other] if isinstance(row[lf.other], list) else [row[lf.other]]
            for o in others:
                dst = _text(o)
                if src not in users or dst not in users:
                    # a friend with no interactions is not part of this catalog
                    report.add(lf.file, "links to a user without interactions (skipped)")
                    continue
                links.setdefault(lf.kind, []).append((users[src], users[dst]))

    # user attributes
    user_pairs: dict[str, list[tuple[int, str]]] = {}
    if spec.users:
        us = spec.users
        ucols = [us.id] + [c for a in us.attributes.values() for c in a.columns()]
        for _line, row in rows(us, list(dict.fromkeys(ucols))):
            u_idx = users.get(_text(row[us.id]))
            if u_idx is None:
                report.add(us.file, "users without interactions (skipped)")
                continue
            for name, a in us.attributes.items():
                for v in ([_text(row[a.column])] if a.kind == "number"
                          else _field_values(a, row)):
                    if v:
                        user_pairs.setdefault(name, []).append((u_idx, v))
    bar.close()

    if problems.total:
        note = (f"besides, {follow_on[0]} row(s) of other files name the refused items; they "
                "will import once those items do") if follow_on[0] else ""
        raise CatalogValidationError(problems.shown, problems.total, note=note)

    n_items, n_users = len(item_ids), len(users)
    weights = _transform(np.array(cols_["w"], np.float32), spec.interactions)
    interactions = Interactions(
        np.array(cols_["u"], np.int32), np.array(cols_["i"], np.int32), n_users, n_items,
        ratings=np.array(cols_["r"], np.float32) if has["r"] else None,
        timestamps=np.array(cols_["t"], np.int64) if has["t"] else None,
        weights=weights,
        splits=np.array(cols_["s"]) if has["s"] else None)
    if spec.split is not None and interactions.splits is None:
        from recsys.split import split_labels

        try:
            interactions.splits = split_labels(interactions, spec.split.by, spec.split.test,
                                               spec.split.valid, spec.split.seed)
        except ValueError as e:
            raise SpecError(f"split: {e}") from None
    attributes = fields.attributes(report)
    for fld, values in spec.aliases.items():  # the data decides which values exist
        have = {v.casefold() for v in attributes[fld].values} if fld in attributes else set()
        report.add(f"aliases.{fld}", "aliases of a value the catalog lacks (ignored)",
                   sum(v.casefold() not in have for v in values))
    return Catalog(
        name=spec.name, fingerprint=fp or "unsaved", title=spec.title or spec.name,
        item_ids=item_ids, titles=titles, years=np.array(years, np.int32), texts=texts,
        attributes=attributes, user_ids=list(users), interactions=interactions,
        user_links={k: np.array(sorted(set(v)), np.int32) for k, v in links.items()},
        numbers=fields.numbers, notes=fields.notes, **catalog_meta(spec),
        user_attributes={n: _attribute(n, pairs, n_users) for n, pairs in user_pairs.items()},
        report=report.counts)


def catalog_meta(spec: CatalogSpec) -> dict[str, Any]:
    """The spec's description of fields, words and audiences, as ``Catalog`` keeps it."""
    own = set(spec.items.attributes) | {a.field for a in spec.attributes}
    fields = {n: FieldInfo(m.kind, m.hard, m.label, m.unit, n not in own, m.embed)
              for n, m in spec.field_meta().items()}
    w = spec.words
    words = Words(w.item, w.items, tuple(w.filler), w.years, tuple(w.stop))
    audience = {a: Audience(r.field, tuple(r.allow),
                            {k: tuple(v) for k, v in r.unrated.items()},
                            {k: tuple(v) for k, v in r.exclude.items()})
                for a, r in spec.audience.items()}
    aliases = {f: {v: tuple(p) for v, p in values.items()} for f, values in spec.aliases.items()}
    return {"fields": fields, "words": words, "audience": audience, "aliases": aliases}


def _transform(w: np.ndarray, specs: list[InteractionsSpec]) -> np.ndarray:
    """Weight transforms; every interactions file of a catalog shares one (checked)."""
    modes = {(f.transform, f.cap) for f in specs}
    if len(modes) > 1:
        raise SpecError(f"interactions files disagree on transform: {sorted(map(str, modes))}; "
                        "give every [[interactions]] entry the same transform")
    mode, cap = modes.pop() if modes else ("none", None)
    if mode == "binary":
        return np.ones_like(w)
    if mode == "log1p":
        return np.log1p(w).astype(np.float32)
    if mode == "cap":
        return np.minimum(w, np.float32(cap)).astype(np.float32)
    return w


def _attribute(name: str, pairs: list[tuple[int, str]], n_rows: int,
               weights: list[float] | None = None) -> ItemAttributes:
    """Weights count how often an item got a value (e.g. a tag from several users)."""
    values = sorted({v for _, v in pairs})
    vi = {v: j for j, v in enumerate(values)}
    data = np.ones(len(pairs), np.float32) if weights is None else np.array(weights, np.float32)
    m = sp.csr_matrix((data, ([i for i, _ in pairs], [vi[v] for _, v in pairs])),
                      shape=(n_rows, len(values)), dtype=np.float32)
    m.sum_duplicates()
    return ItemAttributes(name, values, m)


def import_catalog(spec_path: Path, settings: Settings, *, name: str | None = None,
                   progress: bool | None = None) -> ImportResult:
    """Validate a catalog from its spec and store it (one transaction; idempotent)."""
    from recsys.db import get_engine
    from recsys.store import save_catalog, stored_fingerprint

    spec = load_spec(spec_path)
    if name:
        spec = spec.model_copy(update={"name": name})
    root = resolve_root(spec, Path(spec_path), settings)
    if spec.dataset and not root.exists():
        from recsys.datasets import fetch

        fetch(spec.dataset, settings, progress=progress)
    path_of = file_paths(spec, root, settings, progress=progress)
    fp = fingerprint(spec, root, path_of)
    engine = get_engine(settings.database_url)
    before = stored_fingerprint(engine, spec.name)
    if before == fp:
        from recsys.store import list_catalogs

        rec = next(c for c in list_catalogs(engine) if c.name == spec.name)
        return ImportResult(spec.name, "unchanged", rec.n_items, rec.n_users,
                            rec.n_interactions, fp)
    cat = read_catalog(spec, root, fp=fp, progress=progress, path_of=path_of)
    save_catalog(engine, cat, spec.model_dump(mode="json"), progress=progress)
    return ImportResult(spec.name, "imported" if before is None else "replaced", cat.n_items,
                        cat.n_users, len(cat.interactions), fp, cat.report)
