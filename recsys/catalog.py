"""In-memory catalog: items with attributes, users, and interactions in dense index space.

Items and users keep their external ids (strings, as in the source files); models and indexes
work on dense indices ``0..n-1`` in the order of the items file and of first appearance of users.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from recsys.errors import UnknownItemError, UnknownUserError

YEAR_UNKNOWN = 0


@dataclass
class Interactions:
    """Observed (user, item) events; arrays are aligned, one entry per event."""

    users: np.ndarray  # (N,) int32 dense user index
    items: np.ndarray  # (N,) int32 dense item index
    n_users: int
    n_items: int
    ratings: np.ndarray | None = None  # (N,) float32, nan where the source has none
    timestamps: np.ndarray | None = None  # (N,) int64, -1 where unknown
    weights: np.ndarray | None = None  # (N,) float32 implicit-feedback strength, default 1
    splits: np.ndarray | None = None  # (N,) str labels such as "train"/"test", if the spec has them

    def __post_init__(self) -> None:
        self.users = np.asarray(self.users, dtype=np.int32)
        self.items = np.asarray(self.items, dtype=np.int32)
        n = len(self.users)
        if len(self.items) != n:
            raise ValueError(f"users has {n} entries but items has {len(self.items)}")
        if n and (self.users.max() >= self.n_users or self.items.max() >= self.n_items):
            raise ValueError("an interaction refers to a user or item index out of range")
        if self.weights is None:
            self.weights = np.ones(n, dtype=np.float32)
        for name in ("ratings", "timestamps", "weights", "splits"):
            arr = getattr(self, name)
            if arr is not None and len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} entries, expected {n}")

    def __len__(self) -> int:
        return len(self.users)

    def subset(self, mask: np.ndarray) -> Interactions:
        """The events where ``mask`` is true (boolean array or index array)."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[mask]

        return Interactions(self.users[mask], self.items[mask], self.n_users, self.n_items,
                            pick(self.ratings), pick(self.timestamps), pick(self.weights),
                            pick(self.splits))

    def split(self, name: str) -> Interactions:
        """The events labelled ``name`` by the catalog spec (e.g. LastFM* train/valid/test)."""
        if self.splits is None:
            raise ValueError("this catalog has no split labels")
        return self.subset(np.asarray(self.splits == name))

    def to_csr(self, *, min_rating: float | None = None, binary: bool = False) -> sp.csr_matrix:
        """User x item matrix of summed weights (``binary``: 1 where any event)."""
        keep = np.ones(len(self), dtype=bool)
        if min_rating is not None:
            if self.ratings is None:
                raise ValueError("min_rating given but these interactions have no ratings")
            keep &= np.nan_to_num(self.ratings, nan=-np.inf) >= min_rating
        assert self.weights is not None  # set in __post_init__
        data = np.ones(keep.sum(), np.float32) if binary else self.weights[keep]
        m = sp.csr_matrix((data, (self.users[keep], self.items[keep])),
                          shape=(self.n_users, self.n_items), dtype=np.float32)
        m.sum_duplicates()
        if binary:
            m.data[:] = 1.0
        return m


@dataclass
class ItemAttributes:
    """One attribute field (e.g. genre): its vocabulary and an item x value weight matrix."""

    name: str
    values: list[str]
    matrix: sp.csr_matrix  # (n_items, n_values) float32 weight, e.g. how many users gave a tag

    @cached_property
    def value_index(self) -> dict[str, int]:
        return {v: i for i, v in enumerate(self.values)}

    def of(self, item: int) -> list[str]:
        """Values of one item, strongest first (ties in vocabulary order)."""
        m = self.matrix  # slicing the CSR arrays: getrow builds a matrix (0.2 ms a call)
        lo, hi = m.indptr[item], m.indptr[item + 1]
        cols, data = m.indices[lo:hi], m.data[lo:hi]
        order = np.lexsort((cols, -data))
        return [self.values[cols[i]] for i in order]

    @cached_property
    def by_value(self) -> sp.csc_matrix:
        """The matrix by column (value -> items), built once: a turn asks it several times."""
        return self.matrix.tocsc()

    def items_with(self, value: str) -> np.ndarray:
        """Dense indices of the items that have ``value``."""
        j = self.value_index.get(value)
        if j is None:
            return np.empty(0, dtype=np.int32)
        col = self.by_value
        return np.sort(col.indices[col.indptr[j]:col.indptr[j + 1]]).astype(np.int32)


@dataclass(frozen=True)
class FieldInfo:
    """What one item field is (from the spec): how to understand, filter and show it."""

    kind: str = "categorical"  # categorical | people | keywords | text | number
    hard: bool = True  # a hard filter when a person asks for one of its values
    label: str | None = None
    unit: str | None = None
    side: bool = False  # first filled by joined side data (noisier than the catalog's own)
    embed: bool = True  # part of the text the semantic index embeds


@dataclass(frozen=True)
class Words:
    """The words a catalog's people use for its items."""

    item: str = "item"
    items: str = "items"
    filler: tuple[str, ...] = ()
    years: bool = True
    stop: tuple[str, ...] = ()  # talk about items, never a wish ("plot"): no tag matches one


@dataclass(frozen=True)
class Audience:
    """Which items suit an audience such as children (see ``AudienceSpec``)."""

    rating_field: str
    allow: tuple[str, ...]
    unrated: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Catalog:
    """A catalog as loaded from its spec or from the database."""

    name: str
    fingerprint: str
    item_ids: list[str]
    titles: list[str]
    years: np.ndarray  # (n_items,) int32, YEAR_UNKNOWN where absent
    texts: list[str | None]
    attributes: dict[str, ItemAttributes]
    user_ids: list[str]
    interactions: Interactions
    user_links: dict[str, np.ndarray] = field(default_factory=dict)  # kind -> (L, 2) int32
    title: str = ""
    numbers: dict[str, np.ndarray] = field(default_factory=dict)  # field -> (n_items,) nan unknown
    notes: dict[str, list[str | None]] = field(default_factory=dict)  # free text, e.g. overview
    fields: dict[str, FieldInfo] = field(default_factory=dict)  # absent: categorical, hard
    words: Words = field(default_factory=Words)
    audience: dict[str, Audience] = field(default_factory=dict)
    # field -> value -> phrases people use for it ("sci fi" for Sci-Fi), from the spec
    aliases: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    user_attributes: dict[str, ItemAttributes] = field(default_factory=dict)  # (n_users x values)
    report: dict[str, dict[str, int]] = field(default_factory=dict)  # what the import skipped

    def info(self, name: str) -> FieldInfo:
        """What field ``name`` is (attributes not named by the spec are categorical)."""
        return self.fields.get(name) or FieldInfo()

    def fields_of_kind(self, *kinds: str) -> list[str]:
        known = [*self.attributes, *self.numbers, *self.notes]
        return [f for f in known if self.info(f).kind in kinds]

    def number(self, name: str, item: int) -> float | None:
        arr = self.numbers.get(name)
        if arr is None or np.isnan(arr[item]):
            return None
        return float(arr[item])

    def note(self, name: str, item: int) -> str | None:
        vals = self.notes.get(name)
        return None if vals is None else vals[item]

    def coverage(self) -> dict[str, float]:
        """Share of items with a value, per field."""
        n = max(self.n_items, 1)
        out = {k: float(np.diff(a.matrix.indptr).astype(bool).sum()) / n
               for k, a in self.attributes.items()}
        out |= {k: float((~np.isnan(v)).sum()) / n for k, v in self.numbers.items()}
        out |= {k: sum(1 for t in v if t) / n for k, v in self.notes.items()}
        return {k: round(v, 3) for k, v in sorted(out.items())}

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @cached_property
    def item_index(self) -> dict[str, int]:
        return {x: i for i, x in enumerate(self.item_ids)}

    @cached_property
    def user_index(self) -> dict[str, int]:
        return {x: i for i, x in enumerate(self.user_ids)}

    def item(self, ext_id: str) -> int:
        """Dense index of an item by its external id."""
        try:
            return self.item_index[str(ext_id)]
        except KeyError:
            raise UnknownItemError(
                f"catalog '{self.name}' has no item with id '{ext_id}'") from None

    def user(self, ext_id: str) -> int:
        """Dense index of a user by external id."""
        try:
            return self.user_index[str(ext_id)]
        except KeyError:
            sample = ", ".join(self.user_ids[:5])
            raise UnknownUserError(
                f"catalog '{self.name}' has no user '{ext_id}' "
                f"({self.n_users} users, e.g. {sample}); pass one of its user ids") from None

    def year(self, item: int) -> int | None:
        y = int(self.years[item])
        return None if y == YEAR_UNKNOWN else y

    def item_attributes(self, item: int) -> dict[str, list[str]]:
        """All attribute values of one item, by field."""
        return {name: a.of(item) for name, a in self.attributes.items()}

    def describe(self, item: int, *, max_values: int = 8, title: bool = True,
                 people: bool = True) -> str:
        """Text used to embed an item: title, year, categorical fields and people, the free
        text (an overview), then keywords and tags. The encoder reads only the first ~256
        word pieces, so what says most about an item comes first."""
        parts = [self.titles[item]]
        if (y := self.year(item)) is not None and str(y) not in self.titles[item]:
            parts.append(f"({y})")
        head = " ".join(parts) + "." if title else ""
        attrs = {n: v for n, v in self.item_attributes(item).items()
                 if v and self.info(n).embed}
        people_cap = min(max_values, 3)  # the leads, not the whole billing

        def line(name: str, vals: list[str], cap: int) -> str:
            return f"{self.info(name).label or name}: {', '.join(vals[:cap])}."

        first = [line(n, v, max_values) for n, v in attrs.items()
                 if self.info(n).kind == "categorical"]
        first += [line(n, v, people_cap) for n, v in attrs.items()
                  if people and self.info(n).kind == "people"]
        text = [str(t) for t in [self.texts[item], *(self.note(n, item) for n in self.notes)]
                if t]
        # keywords are many and short: twice the cap, they are what a wish is made of
        last = [line(n, v, 2 * max_values) for n, v in attrs.items()
                if self.info(n).kind == "keywords"]
        return " ".join(p for p in [head, *first, *text, *last] if p)

    def items_by_ids(self, ext_ids: Sequence[str]) -> np.ndarray:
        return np.array([self.item(x) for x in ext_ids], dtype=np.int32)
