"""SQL hard filters against a pure-Python evaluation on the tiny catalog."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from recsys.catalog import Catalog
from recsys.db import get_engine
from recsys.errors import CatalogNotFoundError, TastebudError
from recsys.filters import catalog_fields, filter_items
from recsys.settings import Settings
from recsys.store import save_catalog


@pytest.fixture
def stored(tiny_catalog: Catalog, settings: Settings) -> tuple[Engine, Catalog]:
    cat = tiny_catalog
    cat.years[3] = 0  # one item of unknown year (stored as NULL)
    engine = get_engine(settings.database_url)
    save_catalog(engine, cat, progress=False)
    return engine, cat


def reference(cat: Catalog, include=None, exclude=None, year_min=None, year_max=None,
              within=None, exclude_items=(), limit=None) -> list[int]:
    """The filter semantics spelled out item by item."""
    out = []
    for i in range(cat.n_items):
        attrs = cat.item_attributes(i)
        if any(vals and not set(vals) & set(attrs.get(f, [])) for f, vals in
               (include or {}).items()):
            continue
        if any(set(vals) & set(attrs.get(f, [])) for f, vals in (exclude or {}).items()):
            continue
        y = cat.year(i)
        if (year_min is not None or year_max is not None) and y is None:
            continue
        if (year_min is not None and y < year_min) or (year_max is not None and y > year_max):
            continue
        if (within is not None and i not in within) or i in exclude_items:
            continue
        out.append(i)
    return out[:limit] if limit is not None else out


CASES = [
    {},
    {"include": {"genre": ["Action"]}},
    {"include": {"genre": ["Action", "Comedy"]}},  # OR within a field
    {"include": {"genre": ["Action", "Drama"], "tag": ["tag03", "tag07", "tag11"]}},  # AND
    {"exclude": {"genre": ["Horror"]}},
    {"include": {"tag": ["tag01", "tag02", "tag05"]}, "exclude": {"genre": ["Comedy"]}},
    {"year_min": 1990},
    {"year_max": 1980},
    {"year_min": 1970, "year_max": 2000, "include": {"genre": ["Comedy", "Drama"]}},
    {"within": [0, 1, 2, 3, 5, 8, 13, 21, 34, 55]},
    {"within": [3, 5, 8, 40, 41, 42], "include": {"genre": ["Action", "Comedy"]},
     "year_min": 1960},
    {"exclude_items": [0, 4, 8], "include": {"genre": ["Action"]}},
    {"include": {"genre": ["Action", "Drama"]}, "limit": 5},
    {"exclude": {"genre": ["Action"]}, "year_min": 1960, "limit": 7},
    {"include": {"genre": []}, "limit": 3},  # an empty list sets no condition
    {"limit": 0},
    {"within": []},
]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_matches_reference(stored: tuple[Engine, Catalog], case: dict) -> None:
    engine, cat = stored
    got = filter_items(engine, cat.name, **case)
    assert got.dtype == np.int32
    assert got.tolist() == reference(cat, **case)


def test_random_combinations(stored: tuple[Engine, Catalog]) -> None:
    engine, cat = stored
    rng = np.random.default_rng(1)
    genres, tags = cat.attributes["genre"].values, cat.attributes["tag"].values
    for _, use_tag, use_exc, use_year in itertools.product(range(3), *[(False, True)] * 3):
        case: dict = {"include": {"genre": list(rng.choice(genres, 2, replace=False))}}
        if use_tag:
            case["include"]["tag"] = list(rng.choice(tags, 6, replace=False))
        if use_exc:
            case["exclude"] = {"tag": list(rng.choice(tags, 3, replace=False))}
        if use_year:
            case["year_min"] = int(rng.integers(1950, 2000))
        assert filter_items(engine, cat.name, **case).tolist() == reference(cat, **case)


def test_long_id_lists_are_applied(stored: tuple[Engine, Catalog],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    engine, cat = stored
    import recsys.filters as f

    monkeypatch.setattr(f, "_IN_SQL_MAX", 4)  # force the numpy path for long lists
    case: dict[str, Any] = {"within": list(range(0, 60, 2)), "exclude_items": list(range(0, 60, 3)),
                            "include": {"genre": ["Action", "Comedy"]}, "limit": 6}
    assert filter_items(engine, cat.name, **case).tolist() == reference(cat, **case)


def test_unknown_field_lists_fields(stored: tuple[Engine, Catalog]) -> None:
    engine, cat = stored
    with pytest.raises(TastebudError, match=r"'mood'.*genre, tag"):
        filter_items(engine, cat.name, include={"mood": ["dark"]})
    with pytest.raises(TastebudError, match="'colour'"):
        filter_items(engine, cat.name, exclude={"colour": ["red"]})
    with engine.connect() as conn:
        assert catalog_fields(conn, cat.name) == ["genre", "tag"]


def test_unknown_catalog(stored: tuple[Engine, Catalog]) -> None:
    engine, _ = stored
    with pytest.raises(CatalogNotFoundError, match="'nope'.*synthetic"):
        filter_items(engine, "nope")


def test_injection_looking_values_are_data(stored: tuple[Engine, Catalog]) -> None:
    engine, cat = stored
    evil = "Action' OR '1'='1"
    assert len(filter_items(engine, cat.name, include={"genre": [evil]})) == 0
    assert len(filter_items(engine, cat.name, exclude={"genre": [evil]})) == cat.n_items
    with pytest.raises(TastebudError):
        filter_items(engine, cat.name, include={"genre'; DROP TABLE item; --": ["x"]})
    assert len(filter_items(engine, cat.name)) == cat.n_items  # the table is still there


def test_bare_string_is_one_value(stored: tuple[Engine, Catalog]) -> None:
    engine, cat = stored
    got = filter_items(engine, cat.name, include={"genre": "Action"})
    assert got.tolist() == reference(cat, include={"genre": ["Action"]})


def test_negative_limit_rejected(stored: tuple[Engine, Catalog]) -> None:
    engine, cat = stored
    with pytest.raises(ValueError, match="limit"):
        filter_items(engine, cat.name, limit=-1)


def test_a_kept_answer_is_not_given_after_the_catalog_is_imported_again(
        stored: tuple[Engine, Catalog]) -> None:
    import dataclasses

    engine, cat = stored
    first = filter_items(engine, cat.name, year_min=1990)
    assert filter_items(engine, cat.name, year_min=1990).tolist() == first.tolist()
    years = cat.years.copy()
    years[years >= 1990] = 1900  # the new import has nothing from 1990 on
    save_catalog(engine, dataclasses.replace(cat, years=years), progress=False)
    assert len(first) and filter_items(engine, cat.name, year_min=1990).tolist() == []


def test_an_added_exclusion_checks_only_the_last_full_answer(
        stored: tuple[Engine, Catalog], monkeypatch: pytest.MonkeyPatch) -> None:
    import recsys.filters as f

    engine, cat = stored
    first = {"include": {"genre": ["Action", "Comedy"]}, "year_min": 1970}
    filter_items(engine, cat.name, **first)
    narrowed: list[int] = []
    real = f._narrowed
    monkeypatch.setattr(f, "_narrowed", lambda conn, c, n, exc, items, *a: (
        narrowed.append(len(items)) or real(conn, c, n, exc, items, *a)))
    for exc in ({"genre": ["Horror"]}, {"genre": ["Horror", "Drama"], "tag": ["tag03"]}):
        got = filter_items(engine, cat.name, **first, exclude=exc, limit=50)
        assert got.tolist() == reference(cat, **first, exclude=exc, limit=50)
    assert len(narrowed) == 2  # both answered from the first list, the second from either
    # a cut-off answer is not complete: the next one is asked in full
    filter_items(engine, cat.name, include={"genre": ["Drama"]}, limit=2)
    got = filter_items(engine, cat.name, include={"genre": ["Drama"]},
                       exclude={"genre": ["Comedy"]})
    assert got.tolist() == reference(cat, include={"genre": ["Drama"]},
                                     exclude={"genre": ["Comedy"]})
    assert len(narrowed) == 2
