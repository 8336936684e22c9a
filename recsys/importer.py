"""Turn a catalog spec and its files into a validated ``Catalog``, and store it.

Every row is validated; any problem (file, line, field, reason) stops the import before the
database is touched, so a bad file never leaves a half-imported catalog behind.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.catalog import YEAR_UNKNOWN, Catalog, Interactions, ItemAttributes
from recsys.errors import CatalogValidationError, RowProblem, SpecError
from recsys.reader import FileProblem, read_rows
from recsys.settings import Settings
from recsys.spec import CatalogSpec, FileSpec, YearSpec, load_spec, spec_digest

MAX_SHOWN = 20


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


def resolve_root(spec: CatalogSpec, spec_path: Path, settings: Settings) -> Path:
    """Directory holding the spec's files."""
    if spec.root:
        return (spec_path.parent / spec.root).resolve()
    if spec.dataset:
        return settings.datasets_dir / spec.dataset
    return spec_path.parent.resolve()


def fingerprint(spec: CatalogSpec, root: Path) -> str:
    """Identity of a catalog's content: the spec's meaning and every file's bytes."""
    h = hashlib.sha256(spec_digest(spec).encode())
    for f in spec.files():
        path = root / f.file
        if not path.is_file():
            raise SpecError(f"catalog file '{path}' not found"
                            + (f"; run `tastebud data fetch {spec.dataset}`" if spec.dataset
                               else ""))
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


def _event_fields(f: Any, row: dict, line: int
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
    return (out[0], out[1], out[2]), None


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


def read_catalog(spec: CatalogSpec, root: Path, *, fp: str | None = None,
                 progress: bool | None = None) -> Catalog:
    """Read and validate every file of ``spec`` under ``root``."""
    from tqdm.auto import tqdm

    problems = _Problems()
    bar = tqdm(total=len(spec.files()), desc=f"reading {spec.name}", unit="file",
               disable=progress is False or None)

    def rows(f: FileSpec, needed: list[str]):  # type: ignore[no-untyped-def]
        try:
            for line, row in read_rows(root / f.file, f, needed):
                if "__problem__" in row:
                    problems.add(row["__problem__"])
                    continue
                yield line, row
        except FileProblem as e:
            problems.add(e.problem)
        bar.update()

    # items
    it = spec.items
    year_col, year_of = _make_year(it.year)
    needed = [it.id] + [c for c in (it.title, year_col, it.text) if c]
    needed += [a.column for a in it.attributes.values()]
    item_ids: list[str] = []
    titles: list[str] = []
    years: list[int] = []
    texts: list[str | None] = []
    index: dict[str, int] = {}
    attr_rows: dict[str, list[tuple[int, str]]] = {n: [] for n in it.attributes}
    for line, row in rows(it, needed):
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
            continue
        try:
            year = year_of(row[year_col]) if year_col else None
        except ValueError as e:
            problems.add(RowProblem(*where, year_col or "year", str(e)))
            continue
        i = len(item_ids)
        index[ext] = i
        item_ids.append(ext)
        titles.append(title)
        years.append(YEAR_UNKNOWN if year is None else year)
        texts.append(_text(row[it.text]) or None if it.text else None)
        for name, a in it.attributes.items():
            for v in _values(row[a.column], a.split, a.lowercase, a.ignore):
                attr_rows[name].append((i, v))

    # attribute files
    for af in spec.attributes:
        dest = attr_rows.setdefault(af.field, [])
        for line, row in rows(af, [af.item, af.value]):
            ext = _text(row[af.item])
            found = index.get(ext)
            if found is None:
                problems.add(RowProblem(af.file, line, af.item,
                                        f"item '{ext}' is not in {it.file}"))
                continue
            for v in _values(row[af.value], af.split, af.lowercase, af.ignore):
                dest.append((found, v))

    # interactions
    users: dict[str, int] = {}
    cols: dict[str, list[Any]] = {k: [] for k in ("u", "i", "r", "w", "t", "s")}
    has = {"r": False, "t": False, "s": False}
    for f in spec.interactions:
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
            for raw in raw_items:
                ext = _text(raw)
                item = index.get(ext)
                if item is None:
                    problems.add(RowProblem(f.file, line, f.item,
                                            f"item '{ext}' is not in {it.file}"))
                    continue
                cols["u"].append(users.setdefault(u, len(users)))
                cols["i"].append(item)
                cols["r"].append(r)
                cols["w"].append(w)
                cols["t"].append(t)
                cols["s"].append(f.split or "")

    # user links
    links: dict[str, list[tuple[int, int]]] = {}
    for lf in spec.user_links:
        for _line, row in rows(lf, [lf.user, lf.other]):
            src = _text(row[lf.user])
            others = row[lf.other] if isinstance(row[lf.other], list) else [row[lf.other]]
            for o in others:
                dst = _text(o)
                if src not in users or dst not in users:
                    continue  # a friend with no interactions is not part of this catalog
                links.setdefault(lf.kind, []).append((users[src], users[dst]))
    bar.close()

    if problems.total:
        raise CatalogValidationError(problems.shown, problems.total)

    n_items, n_users = len(item_ids), len(users)
    interactions = Interactions(
        np.array(cols["u"], np.int32), np.array(cols["i"], np.int32), n_users, n_items,
        ratings=np.array(cols["r"], np.float32) if has["r"] else None,
        timestamps=np.array(cols["t"], np.int64) if has["t"] else None,
        weights=np.array(cols["w"], np.float32),
        splits=np.array(cols["s"]) if has["s"] else None)
    return Catalog(
        name=spec.name, fingerprint=fp or "unsaved", title=spec.title or spec.name,
        item_ids=item_ids, titles=titles, years=np.array(years, np.int32), texts=texts,
        attributes={n: _attribute(n, attr_rows[n], n_items) for n in sorted(attr_rows)},
        user_ids=list(users), interactions=interactions,
        user_links={k: np.array(sorted(set(v)), np.int32) for k, v in links.items()})


def _attribute(name: str, pairs: list[tuple[int, str]], n_items: int) -> ItemAttributes:
    """Weights count how often an item got a value (e.g. a tag from several users)."""
    values = sorted({v for _, v in pairs})
    vi = {v: j for j, v in enumerate(values)}
    m = sp.csr_matrix((np.ones(len(pairs), np.float32),
                       ([i for i, _ in pairs], [vi[v] for _, v in pairs])),
                      shape=(n_items, len(values)), dtype=np.float32)
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
    fp = fingerprint(spec, root)
    engine = get_engine(settings.database_url)
    before = stored_fingerprint(engine, spec.name)
    if before == fp:
        from recsys.store import list_catalogs

        rec = next(c for c in list_catalogs(engine) if c.name == spec.name)
        return ImportResult(spec.name, "unchanged", rec.n_items, rec.n_users,
                            rec.n_interactions, fp)
    cat = read_catalog(spec, root, fp=fp, progress=progress)
    save_catalog(engine, cat, spec.model_dump(mode="json"), progress=progress)
    return ImportResult(spec.name, "imported" if before is None else "replaced", cat.n_items,
                        cat.n_users, len(cat.interactions), fp)
