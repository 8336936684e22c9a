"""Catalog import from declarative specs: formats, validation, atomicity, idempotence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recsys.catalogs import open_catalog
from recsys.db import get_engine
from recsys.errors import CatalogValidationError, SpecError
from recsys.importer import import_catalog
from recsys.settings import Settings
from recsys.store import list_catalogs, load_catalog
from tests.recsys.catalog_files import RATINGS, write_tiny


def test_import_movielens_format(tmp_path: Path, settings: Settings) -> None:
    r = import_catalog(write_tiny(tmp_path), settings)
    assert (r.status, r.n_items, r.n_users, r.n_interactions) == ("imported", 5, 3, 5)
    cat = load_catalog(get_engine(settings.database_url), "tiny")
    assert cat.titles[2] == "Heat, The Remake (1995)"  # quoted comma survives
    assert [cat.year(i) for i in range(5)] == [1995, 1995, 1995, 1979, None]
    alien = cat.item("4")
    assert cat.item_attributes(alien) == {"genre": ["Horror", "Sci-Fi"], "tag": ["space"]}
    assert cat.attributes["tag"].matrix[alien, cat.attributes["tag"].value_index["space"]] == 2
    assert cat.item_attributes(cat.item("5"))["genre"] == []  # "(no genres listed)" ignored
    inter = cat.interactions
    assert inter.ratings is not None and inter.timestamps is not None
    assert sorted(inter.ratings.tolist()) == [2.0, 3.5, 4.0, 4.0, 5.0]
    assert cat.user_ids == ["1", "2", "3"]


def test_broken_row_is_refused_and_database_unchanged(tmp_path: Path, settings: Settings) -> None:
    spec = write_tiny(tmp_path)
    first = import_catalog(spec, settings)
    bad = RATINGS.replace("2,3,4.0,964983815", "2,3,four,964983815")
    bad = bad.replace("3,4,2.0,964982931", "3,99,2.0,964982931")
    (tmp_path / "ratings.csv").write_text(bad)
    with pytest.raises(CatalogValidationError) as e:
        import_catalog(spec, settings)
    msg = str(e.value)
    assert "ratings.csv:5: field 'rating': rating 'four' is not a number" in msg
    assert "ratings.csv:6: field 'movieId': item '99' is not in movies.csv" in msg
    assert "database was not changed" in msg
    cat = load_catalog(get_engine(settings.database_url), "tiny")
    assert cat.fingerprint == first.fingerprint and len(cat.interactions) == 5


def test_broken_row_on_first_import_leaves_nothing(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "x").mkdir()
    spec = write_tiny(tmp_path / "x", ratings=RATINGS + "4,1,4.0,notatime\n")
    with pytest.raises(CatalogValidationError, match="ratings.csv:7: field 'timestamp'"):
        import_catalog(spec, settings)
    assert list_catalogs(get_engine(settings.database_url)) == []


def test_duplicate_id_and_bad_field_count(tmp_path: Path, settings: Settings) -> None:
    spec = write_tiny(tmp_path)
    movies = (tmp_path / "movies.csv").read_text()
    (tmp_path / "movies.csv").write_text(movies + "2,Jumanji again (1995),Comedy\n7,Oops\n")
    with pytest.raises(CatalogValidationError) as e:
        import_catalog(spec, settings)
    assert "movies.csv:7: field 'movieId': duplicate item id '2'" in str(e.value)
    assert "movies.csv:8: field '(row)': 2 fields, expected 3" in str(e.value)


def test_reimport_is_idempotent_and_change_replaces(tmp_path: Path, settings: Settings) -> None:
    spec = write_tiny(tmp_path)
    a = import_catalog(spec, settings)
    b = import_catalog(spec, settings)
    assert b.status == "unchanged" and b.fingerprint == a.fingerprint
    engine = get_engine(settings.database_url)
    assert len(load_catalog(engine, "tiny").interactions) == 5
    (tmp_path / "ratings.csv").write_text(RATINGS + "3,1,5.0,964990000\n")
    c = import_catalog(spec, settings)
    assert c.status == "replaced" and c.fingerprint != a.fingerprint
    assert len(load_catalog(engine, "tiny").interactions) == 6


def test_second_catalog_beside_first(tmp_path: Path, settings: Settings) -> None:
    import_catalog(write_tiny(tmp_path / "a", "first"), settings)
    import_catalog(write_tiny(tmp_path / "b", "second"), settings, name="renamed")
    engine = get_engine(settings.database_url)
    assert sorted(c.name for c in list_catalogs(engine)) == ["first", "renamed"]
    assert load_catalog(engine, "renamed").n_items == 5
    assert load_catalog(engine, "first").n_items == 5


def test_unseen_format_by_spec_only(tmp_path: Path, settings: Settings) -> None:
    """Pipe-separated latin-1 items with a year column and no header; '::' ratings."""
    (tmp_path / "items.psv").write_bytes(
        "10|Amélie|2001|Comedy;Romance\n11|Léon|1994|Crime;Drama\n12|Café Society||Drama\n"
        .encode("latin-1"))
    (tmp_path / "ratings.dat").write_text("u1::10::5::978300760\nu2::11::3::978302109\n")
    (tmp_path / "films.toml").write_text("""
name = "films"
root = "."
[items]
file = "items.psv"
format = "psv"
encoding = "latin-1"
header = false
columns = ["id", "name", "year", "genres"]
id = "id"
title = "name"
year = "year"
[items.attributes.genre]
column = "genres"
split = ";"
[[interactions]]
file = "ratings.dat"
format = "dsv"
delimiter = "::"
header = false
columns = ["user", "item", "stars", "ts"]
user = "user"
item = "item"
rating = "stars"
timestamp = "ts"
""")
    r = import_catalog(tmp_path / "films.toml", settings)
    assert (r.n_items, r.n_users, r.n_interactions) == (3, 2, 2)
    cat = load_catalog(get_engine(settings.database_url), "films")
    assert cat.titles == ["Amélie", "Léon", "Café Society"]
    assert [cat.year(i) for i in range(3)] == [2001, 1994, None]
    assert cat.item_attributes(0)["genre"] == ["Comedy", "Romance"]


def test_wrong_encoding_names_the_line(tmp_path: Path, settings: Settings) -> None:
    spec = write_tiny(tmp_path)
    movies = (tmp_path / "movies.csv").read_text() + "6,Amélie (2001),Comedy\n"
    (tmp_path / "movies.csv").write_bytes(movies.encode("latin-1"))
    with pytest.raises(CatalogValidationError,
                       match=r"movies.csv:7: field '\(encoding\)'.*latin-1"):
        import_catalog(spec, settings)


def test_one_bad_byte_is_one_error_not_one_per_rating(tmp_path: Path,
                                                      settings: Settings) -> None:
    """The items file cannot be read: the ratings naming its items are not checked."""
    spec = write_tiny(tmp_path)
    (tmp_path / "movies.csv").write_bytes(
        (tmp_path / "movies.csv").read_bytes().replace(b"Jumanji", b"Jum\xe1nji"))
    with pytest.raises(CatalogValidationError) as e:
        import_catalog(spec, settings)
    msg = str(e.value)
    assert "1 bad field(s)" in msg and "is not in" not in msg
    assert "movies.csv:3: field '(encoding)'" in msg and "were not checked" in msg


def test_the_encoding_hint_fits_the_bytes(tmp_path: Path, settings: Settings) -> None:
    """A UTF-8 file with one damaged byte is not told to switch to Latin-1."""
    spec = write_tiny(tmp_path)
    movies = (tmp_path / "movies.csv").read_text().replace("Jumanji", "Jumánji")
    (tmp_path / "movies.csv").write_bytes(movies.encode().replace(b"Heat", b"H\xe9at"))
    with pytest.raises(CatalogValidationError) as e:
        import_catalog(spec, settings)
    msg = str(e.value)
    assert "otherwise UTF-8" in msg and "latin-1" not in msg and "movies.csv:4" in msg


def test_rows_naming_a_refused_item_are_not_errors_of_their_own(tmp_path: Path,
                                                               settings: Settings) -> None:
    spec = write_tiny(tmp_path)
    movies = (tmp_path / "movies.csv").read_text().replace("Alien (1979)", '""')
    (tmp_path / "movies.csv").write_text(movies)  # Alien's title gone: its row is refused
    with pytest.raises(CatalogValidationError) as e:
        import_catalog(spec, settings)
    msg = str(e.value)
    assert "1 bad field(s)" in msg and "empty title" in msg and "is not in" not in msg
    assert "4 row(s) of other files name the refused items" in msg  # 2 ratings, 2 tags


def test_jsonl_and_json_map(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "items.jsonl").write_text(
        '{"sku": "a", "name": "Lamp", "tags": ["light", "desk"], "about": "A lamp."}\n'
        '{"sku": "b", "name": "Chair", "tags": ["seat"]}\n')
    (tmp_path / "likes.json").write_text(json.dumps({"7": ["a", "b"], "8": ["b"]}, indent=1))
    (tmp_path / "shop.yaml").write_text("""
name: shop
root: .
items: {file: items.jsonl, format: jsonl, id: sku, title: name, text: about,
        attributes: {tag: {column: tags}}}
interactions:
  - {file: likes.json, format: json_map, user: key, item: value}
""")
    r = import_catalog(tmp_path / "shop.yaml", settings)
    assert (r.n_items, r.n_users, r.n_interactions) == (2, 2, 3)
    cat = load_catalog(get_engine(settings.database_url), "shop")
    # a list keeps its order (billing order for cast)
    assert cat.texts == ["A lamp.", None] and cat.item_attributes(0)["tag"] == ["light", "desk"]
    (tmp_path / "likes.json").write_text('{\n "7": ["a"],\n "8": ["zz"]\n}')
    with pytest.raises(CatalogValidationError, match="likes.json:3: field 'value': item 'zz'"):
        import_catalog(tmp_path / "shop.yaml", settings)


@pytest.mark.parametrize("body, needle", [
    ("name = 'x'\n[items]\nfile='a.csv'\nid='id'\n", "title column or a title_template"),
    ("name = 'x'\n[items]\nfile='a.csv'\nid='id'\ntitle='t'\nformat='dsv'\n", "delimiter"),
    ("name = 'x'\n[items]\nfile='a.csv'\nid='id'\ntitle='t'\nencoding='klingon'\n", "klingon"),
    ("name = 'x'\n[items]\nfile='a.csv'\nid='id'\ntitle='t'\ncolour='red'\n", "colour"),
    ("name = 'x'\n[items\n", "not valid TOML"),
])
def test_bad_spec_says_what_is_wrong(tmp_path: Path, settings: Settings, body: str,
                                     needle: str) -> None:
    (tmp_path / "x.toml").write_text(body)
    with pytest.raises(SpecError, match=needle):
        import_catalog(tmp_path / "x.toml", settings)


def test_spec_column_missing_from_header(tmp_path: Path, settings: Settings) -> None:
    spec = write_tiny(tmp_path)
    spec.write_text(spec.read_text().replace('value = "tag"', 'value = "label"'))
    with pytest.raises(SpecError, match=r"tags.csv: the spec names column\(s\) \['label'\]"):
        import_catalog(spec, settings)


def test_round_trip_through_database(tmp_path: Path, settings: Settings) -> None:
    from recsys.importer import fingerprint, read_catalog
    from recsys.spec import load_spec

    spec_path = write_tiny(tmp_path)
    spec = load_spec(spec_path)
    direct = read_catalog(spec, tmp_path, fp=fingerprint(spec, tmp_path))
    import_catalog(spec_path, settings)
    stored = load_catalog(get_engine(settings.database_url), "tiny")
    assert stored.item_ids == direct.item_ids and stored.titles == direct.titles
    assert (stored.years == direct.years).all()
    for name in direct.attributes:
        assert stored.attributes[name].values == direct.attributes[name].values
        assert (stored.attributes[name].matrix != direct.attributes[name].matrix).nnz == 0
    assert np.array_equal(stored.interactions.items, direct.interactions.items)
    assert np.array_equal(stored.interactions.ratings, direct.interactions.ratings)


@pytest.mark.dataset
def test_real_catalogs_import_with_published_counts(mirror: Path, monkeypatch) -> None:
    from recsys.settings import get_settings

    monkeypatch.setenv("TASTEBUD_MIRROR", str(mirror))
    get_settings.cache_clear()
    ml = open_catalog("movielens-small")
    assert (ml.n_items, ml.n_users, len(ml.interactions)) == (9742, 610, 100836)
    assert ml.titles[ml.item("6")] == "Heat (1995)" and ml.year(ml.item("6")) == 1995
    lf = open_catalog("lastfm-star")
    assert (lf.n_items, lf.n_users, len(lf.interactions)) == (7432, 1801, 76693)
    assert len(lf.attributes["tag"].values) == 8438
    assert lf.interactions.splits is not None
    assert int((lf.interactions.splits == "test").sum()) == 11892


@pytest.mark.parametrize("rating", ["99", "-1", "5.5"])
def test_ratings_off_the_scale_are_refused(tmp_path: Path, settings: Settings,
                                           rating: str) -> None:
    spec = write_tiny(tmp_path, ratings=RATINGS.replace("1,4,5.0,", f"1,4,{rating},"))
    with pytest.raises(CatalogValidationError, match=r"ratings.csv:3: field 'rating'.*"
                                                     r"outside 0-5.*rating_scale"):
        import_catalog(spec, settings)
