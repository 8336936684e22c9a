"""Catalog tables (SQLModel) and moving a whole ``Catalog`` in and out of the database.

A catalog is written in one transaction: either every row of it lands or none does, and a
catalog with the same name is replaced only when the new one is complete.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import Index, delete, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from recsys.catalog import YEAR_UNKNOWN, Catalog, Interactions, ItemAttributes
from recsys.errors import CatalogNotFoundError

_CHUNK = 20_000


class CatalogRecord(SQLModel, table=True):
    """One imported catalog."""

    __tablename__ = "catalog"
    name: str = Field(primary_key=True)
    title: str = ""
    fingerprint: str
    spec_json: str = "{}"
    imported_at: datetime
    n_items: int = 0
    n_users: int = 0
    n_interactions: int = 0


class ItemRecord(SQLModel, table=True):
    """An item; ``idx`` is its dense index (order of the items file)."""

    __tablename__ = "item"
    __table_args__ = (Index("ix_item_ext", "catalog", "ext_id", unique=True),
                      Index("ix_item_year", "catalog", "year"))
    catalog: str = Field(primary_key=True, foreign_key="catalog.name")
    idx: int = Field(primary_key=True)
    ext_id: str
    title: str
    year: int | None = None
    text: str | None = None


class ItemAttributeRecord(SQLModel, table=True):
    """Item has attribute value (e.g. genre=Comedy) with a weight (e.g. tag count)."""

    __tablename__ = "item_attribute"
    __table_args__ = (Index("ix_attr_value", "catalog", "field", "value", "item_idx"),)
    catalog: str = Field(primary_key=True, foreign_key="catalog.name")
    item_idx: int = Field(primary_key=True)
    field: str = Field(primary_key=True)
    value: str = Field(primary_key=True)
    weight: float = 1.0


class ItemValueRecord(SQLModel, table=True):
    """One-valued field of an item: a number (runtime) or free text (overview)."""

    __tablename__ = "item_value"
    catalog: str = Field(primary_key=True, foreign_key="catalog.name")
    item_idx: int = Field(primary_key=True)
    field: str = Field(primary_key=True)
    number: float | None = None
    text: str | None = None


class UserAttributeRecord(SQLModel, table=True):
    """Attribute of a catalog user (MovieLens 100K: age, gender, occupation)."""

    __tablename__ = "user_attribute"
    catalog: str = Field(primary_key=True, foreign_key="catalog.name")
    user_idx: int = Field(primary_key=True)
    field: str = Field(primary_key=True)
    value: str = Field(primary_key=True)


class CatalogUserRecord(SQLModel, table=True):
    """A user of the catalog's interaction data (not an app account)."""

    __tablename__ = "catalog_user"
    __table_args__ = (Index("ix_catalog_user_ext", "catalog", "ext_id", unique=True),)
    catalog: str = Field(primary_key=True, foreign_key="catalog.name")
    idx: int = Field(primary_key=True)
    ext_id: str


class InteractionRecord(SQLModel, table=True):
    """One event of the catalog's interaction data."""

    __tablename__ = "interaction"
    __table_args__ = (Index("ix_interaction_user", "catalog", "user_idx"),)
    id: int | None = Field(default=None, primary_key=True)
    catalog: str = Field(foreign_key="catalog.name")
    user_idx: int
    item_idx: int
    rating: float | None = None
    weight: float = 1.0
    timestamp: int | None = None
    split: str | None = None


class UserLinkRecord(SQLModel, table=True):
    """User-to-user relation such as LastFM* friendship."""

    __tablename__ = "user_link"
    catalog: str = Field(primary_key=True, foreign_key="catalog.name")
    kind: str = Field(primary_key=True)
    src_idx: int = Field(primary_key=True)
    dst_idx: int = Field(primary_key=True)


_CHILD_TABLES = (UserLinkRecord, UserAttributeRecord, InteractionRecord, CatalogUserRecord,
                 ItemValueRecord, ItemAttributeRecord, ItemRecord)


def _chunks(rows: Iterator[dict], size: int = _CHUNK) -> Iterator[list[dict]]:
    buf: list[dict] = []
    for r in rows:
        buf.append(r)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def _insert(conn: Connection, model: type[SQLModel], rows: Iterator[dict]) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    for chunk in _chunks(rows):
        conn.execute(insert(table), chunk)


def stored_fingerprint(engine: Engine, name: str) -> str | None:
    """Fingerprint of the stored catalog ``name``, or None if it is not imported."""
    with engine.connect() as conn:
        c = CatalogRecord.__table__.c  # type: ignore[attr-defined]
        return conn.execute(select(c.fingerprint).where(c.name == name)).scalar_one_or_none()


def list_catalogs(engine: Engine) -> list[CatalogRecord]:
    with engine.connect() as conn:
        rows = conn.execute(select(CatalogRecord.__table__)).mappings().all()  # type: ignore
    return [CatalogRecord(**r) for r in rows]


def save_catalog(engine: Engine, cat: Catalog, spec: dict | None = None,
                 progress: bool | None = None) -> None:
    """Write ``cat`` in one transaction, replacing any stored catalog of the same name."""
    from tqdm.auto import tqdm

    name = cat.name
    inter = cat.interactions
    with engine.begin() as conn, tqdm(total=8, desc=f"storing {name}", unit="table",
                                      disable=progress is False or None) as bar:
        for model in _CHILD_TABLES:
            table = model.__table__  # type: ignore[union-attr]
            conn.execute(delete(table).where(table.c.catalog == name))
        conn.execute(delete(CatalogRecord.__table__).where(  # type: ignore[attr-defined]
            CatalogRecord.__table__.c.name == name))  # type: ignore[attr-defined]
        _insert(conn, CatalogRecord, iter([dict(
            name=name, title=cat.title, fingerprint=cat.fingerprint,
            spec_json=json.dumps(spec or {}, sort_keys=True), imported_at=datetime.now(UTC),
            n_items=cat.n_items, n_users=cat.n_users, n_interactions=len(inter))]))
        bar.update()
        _insert(conn, ItemRecord, (
            dict(catalog=name, idx=i, ext_id=cat.item_ids[i], title=cat.titles[i],
                 year=cat.year(i), text=cat.texts[i]) for i in range(cat.n_items)))
        bar.update()
        _insert(conn, ItemAttributeRecord, (
            dict(catalog=name, item_idx=int(i), field=a.name, value=a.values[j], weight=float(w))
            for a in cat.attributes.values()
            for i, j, w in zip(*_coo(a.matrix), strict=True)))
        bar.update()
        _insert(conn, ItemValueRecord, (
            dict(catalog=name, item_idx=int(i), field=f, number=float(v[i]), text=None)
            for f, v in cat.numbers.items() for i in np.flatnonzero(~np.isnan(v))))
        _insert(conn, ItemValueRecord, (
            dict(catalog=name, item_idx=i, field=f, number=None, text=t)
            for f, texts in cat.notes.items() for i, t in enumerate(texts) if t))
        bar.update()
        _insert(conn, UserAttributeRecord, (
            dict(catalog=name, user_idx=int(i), field=a.name, value=a.values[j])
            for a in cat.user_attributes.values()
            for i, j, _w in zip(*_coo(a.matrix), strict=True)))
        bar.update()
        _insert(conn, CatalogUserRecord, (
            dict(catalog=name, idx=i, ext_id=u) for i, u in enumerate(cat.user_ids)))
        bar.update()
        r, t, w, s = inter.ratings, inter.timestamps, inter.weights, inter.splits
        assert w is not None
        _insert(conn, InteractionRecord, (
            dict(catalog=name, user_idx=int(inter.users[k]), item_idx=int(inter.items[k]),
                 rating=None if r is None or np.isnan(r[k]) else float(r[k]),
                 weight=float(w[k]),
                 timestamp=None if t is None or t[k] < 0 else int(t[k]),
                 split=None if s is None else str(s[k]))
            for k in range(len(inter))))
        bar.update()
        _insert(conn, UserLinkRecord, (
            dict(catalog=name, kind=kind, src_idx=int(a), dst_idx=int(b))
            for kind, pairs in cat.user_links.items() for a, b in pairs))
        bar.update()


def _coo(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = m.tocoo()
    return c.row, c.col, c.data


def load_catalog(engine: Engine, name: str) -> Catalog:
    """Read a stored catalog back into memory."""
    with engine.connect() as conn:
        rec = conn.execute(select(CatalogRecord.__table__).where(  # type: ignore[attr-defined]
            CatalogRecord.__table__.c.name == name)).mappings().one_or_none()  # type: ignore
        if rec is None:
            known = [c.name for c in list_catalogs(engine)]
            raise CatalogNotFoundError(
                f"catalog '{name}' is not imported (imported: {', '.join(known) or 'none'}); "
                f"run `tastebud catalog import data/catalogs/{name}.toml`")
        it = ItemRecord.__table__.c  # type: ignore[attr-defined]
        items = conn.execute(select(it.ext_id, it.title, it.year, it.text)
                             .where(it.catalog == name).order_by(it.idx)).all()
        at = ItemAttributeRecord.__table__.c  # type: ignore[attr-defined]
        attr_rows = conn.execute(select(at.field, at.item_idx, at.value, at.weight)
                                 .where(at.catalog == name)
                                 .order_by(at.field, at.value)).all()
        cu = CatalogUserRecord.__table__.c  # type: ignore[attr-defined]
        users = conn.execute(select(cu.ext_id).where(cu.catalog == name)
                             .order_by(cu.idx)).scalars().all()
        ic = InteractionRecord.__table__.c  # type: ignore[attr-defined]
        inter = conn.execute(select(ic.user_idx, ic.item_idx, ic.rating, ic.weight,
                                    ic.timestamp, ic.split)
                             .where(ic.catalog == name).order_by(ic.id)).all()
        ul = UserLinkRecord.__table__.c  # type: ignore[attr-defined]
        links = conn.execute(select(ul.kind, ul.src_idx, ul.dst_idx)
                             .where(ul.catalog == name)).all()
        iv = ItemValueRecord.__table__.c  # type: ignore[attr-defined]
        values = conn.execute(select(iv.field, iv.item_idx, iv.number, iv.text)
                              .where(iv.catalog == name)).all()
        ua = UserAttributeRecord.__table__.c  # type: ignore[attr-defined]
        user_attr_rows = conn.execute(select(ua.field, ua.user_idx, ua.value, 1.0)
                                      .where(ua.catalog == name)
                                      .order_by(ua.field, ua.value)).all()
    n_items = len(items)
    attributes = _attributes_from_rows(attr_rows, n_items)
    numbers: dict[str, np.ndarray] = {}
    notes: dict[str, list[str | None]] = {}
    for fld, i, num, text in values:
        if num is not None:
            numbers.setdefault(fld, np.full(n_items, np.nan, np.float32))[i] = num
        else:
            notes.setdefault(fld, [None] * n_items)[i] = text
    cols = list(zip(*inter, strict=True)) if inter else [()] * 6
    ratings = np.array([np.nan if x is None else x for x in cols[2]], dtype=np.float32)
    stamps = np.array([-1 if x is None else x for x in cols[4]], dtype=np.int64)
    splits = np.array(cols[5], dtype=object)
    interactions = Interactions(
        np.array(cols[0], dtype=np.int32), np.array(cols[1], dtype=np.int32), len(users),
        n_items,
        ratings=None if np.isnan(ratings).all() else ratings,
        timestamps=None if (stamps < 0).all() else stamps,
        weights=np.array(cols[3], dtype=np.float32),
        splits=None if all(s is None for s in splits) else splits.astype(str))
    user_links: dict[str, list[tuple[int, int]]] = {}
    for kind, a, b in links:
        user_links.setdefault(kind, []).append((a, b))
    return Catalog(
        name=name, fingerprint=rec["fingerprint"], title=rec["title"],
        item_ids=[r[0] for r in items], titles=[r[1] for r in items],
        years=np.array([YEAR_UNKNOWN if r[2] is None else r[2] for r in items], dtype=np.int32),
        texts=[r[3] for r in items], attributes=attributes, user_ids=list(users),
        interactions=interactions,
        user_links={k: np.array(sorted(v), dtype=np.int32) for k, v in user_links.items()},
        numbers=numbers, notes=notes, **_meta(rec["spec_json"]),
        user_attributes=_attributes_from_rows(user_attr_rows, len(users)))


def _meta(spec_json: str) -> dict[str, Any]:
    """Field kinds, words and audiences from the stored spec (an unreadable one: defaults)."""
    from pydantic import ValidationError

    from recsys.importer import catalog_meta
    from recsys.spec import CatalogSpec

    try:
        return catalog_meta(CatalogSpec.model_validate(json.loads(spec_json)))
    except (ValidationError, ValueError):
        return {}


def _attributes_from_rows(rows: Sequence[Any], n_items: int) -> dict[str, ItemAttributes]:
    by_field: dict[str, list[tuple[int, str, float]]] = {}
    for fld, i, v, w in rows:
        by_field.setdefault(fld, []).append((i, v, w))
    out = {}
    for fld, trip in by_field.items():
        values = sorted({v for _, v, _ in trip})
        vi = {v: j for j, v in enumerate(values)}
        rows_, cols_ = [i for i, *_ in trip], [vi[v] for _, v, _ in trip]
        m = sp.csr_matrix(([w for *_, w in trip], (rows_, cols_)),
                          shape=(n_items, len(values)), dtype=np.float32)
        out[fld] = ItemAttributes(fld, values, m)
    return out
