"""Spec features, one test each, on tiny files in the formats of the real ones (MovieLens 100K
u.item/u.data/u.user, Last.fm 2K artists.dat/user_taggedartists.dat/tags.dat)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from recsys.catalog import Catalog
from recsys.db import get_engine
from recsys.errors import CatalogValidationError, SpecError
from recsys.importer import ImportResult, import_catalog
from recsys.settings import Settings
from recsys.store import load_catalog

# MovieLens 100K shapes: pipe-separated, latin-1, no header, 0/1 flag columns
U_ITEM = ("1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/a|0|0|1|1\n"
          "2|Misérables, Les (1995)|01-Jan-1995||http://us.imdb.com/M/b|0|0|0|1\n"
          "3|unknown||||1|0|0|0\n"
          "4|Land Before Time III (1995) (V)|01-Jan-1995||http://us.imdb.com/M/c|0|1|1|0\n")
U_ITEM_SPEC = """
[items]
file = "u.item"
format = "psv"
encoding = "latin-1"
header = false
columns = ["id", "title", "date", "video", "url", "unknown", "Action", "Children's", "Comedy"]
id = "id"
title = "title"
year = { column = "title", pattern = '\\((\\d{4})\\)' }
"""
U_DATA = "1\t1\t5\t881250949\n1\t2\t3\t881250950\n2\t1\t4\t881250951\n2\t4\t1\t881250952\n"
U_DATA_SPEC = """
[[interactions]]
file = "u.data"
format = "tsv"
header = false
columns = ["user", "item", "rating", "ts"]
user = "user"
item = "item"
rating = "rating"
timestamp = "ts"
"""
# Last.fm 2K shapes: tab-separated with a header, quotes are data, tags by id in latin-1
ARTISTS = ('id\tname\turl\tpictureURL\n'
           '1\tNirvana\thttp://www.last.fm/music/Nirvana\thttp://p/1.jpg\n'
           '2\t"Weird Al" Yankovic\thttp://www.last.fm/music/%22Weird+Al%22+Yankovic\t\n'
           '3\tMadonna\thttp://www.last.fm/music/Madonna\thttp://p/3.jpg\n'
           '4\tRoyce da 5\'9"\thttp://www.last.fm/music/Royce\thttp://p/4.jpg\n')
TAGS = "tagID\ttagValue\r\n1\tgrunge\r\n2\ttropicália\r\n3\tcomedy\r\n"
TAGGED = ("userID\tartistID\ttagID\tday\tmonth\tyear\r\n"
          "10\t1\t1\t1\t4\t2009\r\n11\t1\t1\t1\t4\t2009\r\n12\t1\t2\t1\t4\t2009\r\n"
          "10\t3\t1\t1\t4\t2009\r\n10\t2\t3\t1\t4\t2009\r\n11\t2\t3\t1\t4\t2009\r\n")
PLAYS = "userID\tartistID\tweight\r\n10\t1\t13883\r\n10\t2\t0\r\n11\t3\t99\r\n12\t1\t1\r\n"
ARTISTS_SPEC = """
[items]
file = "artists.dat"
format = "tsv"
quoting = "none"
id = "id"
title = "name"
"""
PLAYS_SPEC = """
[[interactions]]
file = "user_artists.dat"
format = "tsv"
user = "userID"
item = "artistID"
weight = "weight"
"""
TAGGED_SPEC = ("""
[[attributes]]
field = "tag"
file = "user_taggedartists.dat"
format = "tsv"
item = "artistID"
value = "tagID"
user = "userID"
""" + 'lookup = { file = "tags.dat", format = "tsv", encoding = "latin-1", key = "tagID", '
               'value = "tagValue" }\n')
LASTFM = {"artists.dat": ARTISTS, "user_artists.dat": PLAYS, "tags.dat": TAGS.encode("latin-1"),
          "user_taggedartists.dat": TAGGED}


# MovieLens items with IMDb ids through links.csv, for joins and keyed interactions
KEYED_ITEMS = """
[items]
file = "movies.csv"
id = "movieId"
title = "title"
[[keys]]
name = "imdb"
file = "links.csv"
item = "movieId"
key = "imdbId"
"""


def write(root: Path, body: str, files: dict[str, str | bytes], name: str = "t") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for f, content in files.items():
        path = root / f
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    spec = root / f"{name}.toml"
    spec.write_text(f'name = "{name}"\nroot = "."\n' + body, encoding="utf-8")
    return spec


def imported(settings: Settings, spec: Path, name: str = "t") -> tuple[ImportResult, Catalog]:
    r = import_catalog(spec, settings)
    return r, load_catalog(get_engine(settings.database_url), name)


def refused(settings: Settings, spec: Path) -> str:
    with pytest.raises(CatalogValidationError) as e:
        import_catalog(spec, settings)
    return str(e.value)


def lastfm(tmp_path: Path, extra: str = "", files: dict[str, str | bytes] | None = None) -> Path:
    return write(tmp_path, ARTISTS_SPEC + PLAYS_SPEC + extra, {**LASTFM, **(files or {})})


# ---------------------------------------------------------------- formats


def test_pipe_separated_latin1_flag_columns(tmp_path: Path, settings: Settings) -> None:
    genre = ('[items.attributes.genre]\nflags = ["unknown", "Action", "Children\'s", "Comedy"]\n'
             'ignore = ["unknown"]\n')
    spec = write(tmp_path, U_ITEM_SPEC + genre + U_DATA_SPEC,
                 {"u.item": U_ITEM.encode("latin-1"), "u.data": U_DATA})
    _, cat = imported(settings, spec)
    assert cat.titles[1] == "Misérables, Les (1995)"
    assert [cat.year(i) for i in range(4)] == [1995, 1995, None, 1995]  # "(1995) (V)" too
    assert cat.attributes["genre"].values == ["Action", "Children's", "Comedy"]  # no "unknown"
    assert cat.item_attributes(cat.item("4"))["genre"] == ["Action", "Children's"]
    assert cat.item_attributes(cat.item("3"))["genre"] == []


def test_flag_named_without_ignore_is_a_value(tmp_path: Path, settings: Settings) -> None:
    genre = '[items.attributes.genre]\nflags = ["unknown", "Action", "Comedy"]\n'
    spec = write(tmp_path, U_ITEM_SPEC + genre + U_DATA_SPEC,
                 {"u.item": U_ITEM.encode("latin-1"), "u.data": U_DATA})
    _, cat = imported(settings, spec)
    assert cat.item_attributes(cat.item("3"))["genre"] == ["unknown"]


def test_quoting_none_keeps_quote_characters(tmp_path: Path, settings: Settings) -> None:
    _, cat = imported(settings, lastfm(tmp_path / "none"))
    assert cat.titles[cat.item("2")] == '"Weird Al" Yankovic'
    assert cat.titles[cat.item("4")] == "Royce da 5'9\""
    spec = write(tmp_path / "std", ARTISTS_SPEC.replace('quoting = "none"\n', "") + PLAYS_SPEC,
                 LASTFM, name="std")
    _, std = imported(settings, spec, "std")
    assert std.titles[std.item("2")] == "Weird Al Yankovic"  # standard quoting eats them


def test_escape_character(tmp_path: Path, settings: Settings) -> None:
    items = "id,name\n1,Earth\\, Wind & Fire\n2,Plain\n"
    spec = write(tmp_path, '[items]\nfile = "a.csv"\nid = "id"\ntitle = "name"\n'
                 'quoting = "none"\nescape = "\\\\"\n', {"a.csv": items})
    _, cat = imported(settings, spec)
    assert cat.titles == ["Earth, Wind & Fire", "Plain"]


def test_tag_ids_resolved_through_lookup_file(tmp_path: Path, settings: Settings) -> None:
    _, cat = imported(settings, lastfm(tmp_path, TAGGED_SPEC))
    tag = cat.attributes["tag"]
    assert sorted(tag.values) == ["comedy", "grunge", "tropicália"]  # names, latin-1 decoded
    assert cat.item_attributes(cat.item("1"))["tag"] == ["grunge", "tropicália"]
    assert tag.matrix[cat.item("1"), tag.value_index["grunge"]] == 2  # two users


def test_lookup_key_missing_from_lookup_file_is_refused(tmp_path: Path,
                                                        settings: Settings) -> None:
    rows = TAGGED + "10\t1\t77\t1\t4\t2009\r\n"
    msg = refused(settings, lastfm(tmp_path, TAGGED_SPEC, {"user_taggedartists.dat": rows}))
    assert "user_taggedartists.dat:8: field 'tagID': '77' is not a tagID in tags.dat" in msg


def test_sqlite_source(tmp_path: Path, settings: Settings) -> None:
    db = tmp_path / "films.db"
    tmp_path.mkdir(exist_ok=True)
    with sqlite3.connect(db) as conn:
        conn.execute('CREATE TABLE omdb ("imdbID" TEXT, "Title" TEXT, "Runtime" INTEGER, '
                     '"Rating" TEXT)')
        conn.executemany("INSERT INTO omdb VALUES (?, ?, ?, ?)",
                         [("tt0114709", "Toy Story", 81, "G"), ("tt0113497", "Jumanji", None,
                                                                  "PG")])
    conn.close()
    spec = write(tmp_path, '[items]\nfile = "films.db"\nformat = "sqlite"\ntable = "omdb"\n'
                 'id = "imdbID"\ntitle = "Title"\n[items.attributes]\n'
                 'runtime = { column = "Runtime", kind = "number", unit = "minutes" }\n'
                 'certification = { column = "Rating" }\n', {})
    _, cat = imported(settings, spec)
    assert cat.item_ids == ["tt0114709", "tt0113497"] and cat.titles == ["Toy Story", "Jumanji"]
    assert cat.number("runtime", 0) == 81 and cat.number("runtime", 1) is None
    assert cat.item_attributes(1)["certification"] == ["PG"]
    assert cat.info("runtime").unit == "minutes"
    bad = write(tmp_path / "b", '[items]\nfile = "../films.db"\nformat = "sqlite"\n'
                'table = "movies"\nid = "imdbID"\ntitle = "Title"\n', {})
    with pytest.raises(SpecError, match=r"no table 'movies' \(tables: \['omdb'\]\)"):
        import_catalog(bad, settings)


def test_json_map_with_object_values(tmp_path: Path, settings: Settings) -> None:
    info = {"101": {"title": "Heat", "genre": ["Crime", "Drama"], "plot": "Cops."},
            "102": {"title": "Up", "genre": ["Animation"]}}
    spec = write(tmp_path, '[items]\nfile = "info.json"\nformat = "json_map"\nid = "key"\n'
                 'title = "title"\n[items.attributes]\ngenre = { column = "genre" }\n'
                 'plot = { column = "plot", kind = "text" }\n',
                 {"info.json": json.dumps(info, indent=1)})
    _, cat = imported(settings, spec)
    assert cat.item_ids == ["101", "102"] and cat.titles == ["Heat", "Up"]
    assert cat.item_attributes(0)["genre"] == ["Crime", "Drama"]
    assert cat.note("plot", 0) == "Cops." and cat.note("plot", 1) is None


def test_member_of_a_python_literal_list_cell(tmp_path: Path, settings: Settings) -> None:
    items = ('id,title,keywords\n'
             '1,Toy Story,"[{\'id\': 931, \'name\': \'Jealousy\'}, '
             '{\'id\': 4290, \'name\': \'Toy\'}]"\n'
             '2,Heat,"[{""id"": 1, ""name"": ""Heist""}]"\n'
             '3,Empty,[]\n')
    spec = write(tmp_path, '[items]\nfile = "k.csv"\nid = "id"\ntitle = "title"\n'
                 '[items.attributes.keywords]\ncolumn = "keywords"\nmember = "name"\n'
                 'lowercase = true\nkind = "keywords"\nmax_values = 1\n', {"k.csv": items})
    _, cat = imported(settings, spec)
    assert [cat.item_attributes(i)["keywords"] for i in range(3)] == [["jealousy"], ["heist"], []]
    assert cat.info("keywords").kind == "keywords"


def test_header_false_with_a_misnamed_column_is_a_spec_error(tmp_path: Path,
                                                             settings: Settings) -> None:
    spec = write(tmp_path, U_ITEM_SPEC.replace('title = "title"', 'title = "name"'),
                 {"u.item": U_ITEM.encode("latin-1")})
    with pytest.raises(SpecError, match=r"u.item: the spec names column\(s\) \['name'\]"):
        import_catalog(spec, settings)


# ---------------------------------------------------------------- unknown ids


def test_unknown_item_is_refused_with_file_line_and_the_fix(tmp_path: Path,
                                                            settings: Settings) -> None:
    rows = TAGGED + "10\t999\t1\t1\t4\t2009\r\n"
    msg = refused(settings, lastfm(tmp_path, TAGGED_SPEC, {"user_taggedartists.dat": rows}))
    assert "user_taggedartists.dat:8: field 'artistID': item '999' is not in artists.dat" in msg
    assert 'set on_unknown = "skip"' in msg
    msg = refused(settings, lastfm(tmp_path, files={"user_artists.dat": PLAYS + "12\t999\t5\r\n"}))
    assert "user_artists.dat:6: field 'artistID': item '999' is not in artists.dat" in msg
    assert 'set on_unknown = "skip"' in msg


def test_unknown_item_skipped_and_counted(tmp_path: Path, settings: Settings) -> None:
    tagged = TAGGED + "10\t999\t1\t1\t4\t2009\r\n11\t998\t2\t1\t4\t2009\r\n"
    plays = PLAYS + "12\t999\t5\r\n"
    body = (ARTISTS_SPEC + PLAYS_SPEC + 'on_unknown = "skip"\n' + TAGGED_SPEC
            + 'on_unknown = "skip"\n')
    spec = write(tmp_path, body, {**LASTFM, "user_taggedartists.dat": tagged,
                                  "user_artists.dat": plays})
    r, cat = imported(settings, spec)
    assert r.skipped["user_taggedartists.dat"] == {"rows naming an unknown item (skipped)": 2}
    assert r.skipped["user_artists.dat"] == {"rows naming an unknown item (skipped)": 1}
    assert r.n_interactions == 4 and cat.attributes["tag"].matrix.sum() == 6


# ---------------------------------------------------------------- weights and ratings


@pytest.mark.parametrize("transform, expected", [
    ('transform = "none"', [13883, 0, 99, 1]),
    ('transform = "binary"', [1, 1, 1, 1]),
    ('transform = "log1p"', list(np.log1p([13883, 0, 99, 1]))),
    ('transform = "cap"\ncap = 50', [50, 0, 50, 1]),
])
def test_weight_transforms(tmp_path: Path, settings: Settings, transform: str,
                           expected: list[float]) -> None:
    _, cat = imported(settings, lastfm(tmp_path, transform + "\n"))
    assert cat.interactions.weights is not None
    assert np.allclose(cat.interactions.weights, expected, rtol=1e-6)


def test_rating_outside_scale_is_refused(tmp_path: Path, settings: Settings) -> None:
    genre = '[items.attributes.genre]\nflags = ["Action", "Comedy"]\n'
    spec = write(tmp_path, U_ITEM_SPEC + genre + U_DATA_SPEC + "rating_scale = [1, 5]\n",
                 {"u.item": U_ITEM.encode("latin-1"), "u.data": U_DATA + "3\t2\t6\t881250953\n"})
    msg = refused(settings, spec)
    assert "u.data:5: field 'rating': rating 6 is outside the spec's rating_scale [1, 5]" in msg
    (tmp_path / "u.data").write_text(U_DATA)
    r, cat = imported(settings, spec)
    assert r.n_interactions == 4 and cat.interactions.ratings is not None


def test_negative_weight_is_refused(tmp_path: Path, settings: Settings) -> None:
    msg = refused(settings, lastfm(tmp_path, files={"user_artists.dat": PLAYS + "12\t3\t-4\r\n"}))
    assert "user_artists.dat:6: field 'weight': weight -4 is negative" in msg


# ---------------------------------------------------------------- support


def test_min_support_by_users_drops_one_off_values(tmp_path: Path, settings: Settings) -> None:
    body = TAGGED_SPEC + 'support = "users"\nmin_support = 2\n'
    r, cat = imported(settings, lastfm(tmp_path, body))
    tag = cat.attributes["tag"]
    assert cat.item_attributes(cat.item("1"))["tag"] == ["grunge"]  # 2 users: kept
    assert cat.item_attributes(cat.item("3"))["tag"] == []  # Madonna's one-off grunge: dropped
    assert sorted(tag.values) == ["comedy", "grunge"]  # tropicália had no supported pair
    assert r.skipped["field tag"] == {"pairs below min_support 2": 2,
                                      "values dropped (no supported pair left)": 1}


def test_min_support_by_users_or_by_weight(tmp_path: Path, settings: Settings) -> None:
    """One user giving a tag twice is weight 2 but 1 user."""
    twice = TAGGED + "12\t1\t2\t2\t4\t2009\r\n"
    base = TAGGED_SPEC + "min_support = 2\n"
    _, by_weight = imported(settings, lastfm(tmp_path / "w", base,
                                             {"user_taggedartists.dat": twice}))
    assert by_weight.item_attributes(by_weight.item("1"))["tag"] == ["grunge", "tropicália"]
    spec = write(tmp_path / "u", ARTISTS_SPEC + PLAYS_SPEC + base + 'support = "users"\n',
                 {**LASTFM, "user_taggedartists.dat": twice}, name="u")
    _, by_users = imported(settings, spec, "u")
    assert by_users.item_attributes(by_users.item("1"))["tag"] == ["grunge"]


# ---------------------------------------------------------------- users, splits, words


def test_user_attributes_stored_and_loaded_back(tmp_path: Path, settings: Settings) -> None:
    users = "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n"
    body = U_ITEM_SPEC + U_DATA_SPEC + """
[users]
file = "u.user"
format = "psv"
header = false
columns = ["id", "age", "gender", "occupation", "zip"]
id = "id"
[users.attributes]
age = { column = "age", kind = "number" }
gender = { column = "gender" }
occupation = { column = "occupation" }
"""
    spec = write(tmp_path, body, {"u.item": U_ITEM.encode("latin-1"), "u.data": U_DATA,
                                  "u.user": users})
    r, cat = imported(settings, spec)
    assert r.skipped["u.user"] == {"users without interactions (skipped)": 1}  # user 3
    ua = cat.user_attributes
    assert sorted(ua) == ["age", "gender", "occupation"]
    assert ua["occupation"].of(cat.user("2")) == ["other"]
    assert ua["gender"].of(cat.user("1")) == ["M"] and ua["age"].of(cat.user("1")) == ["24"]


def _events(n_users: int = 20, per_user: int = 10) -> str:
    return "".join(f"{u}\t{1 + (u + k) % 4}\t{1 + k % 5}\t{1_000_000 + 100 * k + u}\n"
                   for u in range(1, n_users + 1) for k in range(per_user))


def test_split_by_time_labels_each_users_latest(tmp_path: Path, settings: Settings) -> None:
    spec = write(tmp_path, U_ITEM_SPEC + U_DATA_SPEC + "[split]\nby = 'time'\ntest = 0.2\n"
                 "valid = 0.1\n", {"u.item": U_ITEM.encode("latin-1"), "u.data": _events()})
    _, cat = imported(settings, spec)
    inter = cat.interactions
    assert inter.splits is not None and inter.timestamps is not None
    for u in range(cat.n_users):
        mine = inter.users == u
        labels = inter.splits[mine][np.argsort(inter.timestamps[mine])]
        assert labels.tolist() == ["train"] * 7 + ["valid"] + ["test"] * 2


def test_split_by_ratio_is_seeded(tmp_path: Path, settings: Settings) -> None:
    files: dict[str, str | bytes] = {"u.item": U_ITEM.encode("latin-1"),
                                     "u.data": _events(100, 10)}

    def labels(name: str, seed: int) -> np.ndarray:
        body = U_ITEM_SPEC + U_DATA_SPEC + f"[split]\nby = 'ratio'\ntest = 0.2\nvalid = 0.1\n" \
            f"seed = {seed}\n"
        _, cat = imported(settings, write(tmp_path / name, body, files, name=name), name)
        assert cat.interactions.splits is not None
        return cat.interactions.splits

    a = labels("a", 0)
    share = {s: float(np.mean(a == s)) for s in ("train", "valid", "test")}
    assert abs(share["test"] - 0.2) < 0.05 and abs(share["valid"] - 0.1) < 0.04, share
    assert (a == labels("b", 0)).all()
    assert not (a == labels("c", 1)).all()


def test_split_by_time_needs_timestamps(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(SpecError, match='split: .*needs timestamps.*by = "ratio"'):
        import_catalog(lastfm(tmp_path, "[split]\nby = 'time'\n"), settings)


def test_words_and_labels_kept(tmp_path: Path, settings: Settings) -> None:
    body = TAGGED_SPEC + 'label = "tagged"\n[words]\nitem = "artist"\nitems = "artists"\n' \
        'filler = ["band"]\nyears = false\n'
    _, cat = imported(settings, lastfm(tmp_path, body))
    w = cat.words
    assert (w.item, w.items, w.filler, w.years) == ("artist", "artists", ("band",), False)
    assert cat.info("tag").label == "tagged"


def test_aliases_read_back_and_one_for_a_missing_value_counted(tmp_path: Path,
                                                              settings: Settings) -> None:
    body = TAGGED_SPEC + '[words]\nstop = ["song"]\n[aliases.tag]\ngrunge = ["seattle sound"]\n' \
        '"Hip-Hop" = ["hiphop"]\n'
    r, cat = imported(settings, lastfm(tmp_path, body))
    assert cat.aliases == {"tag": {"grunge": ("seattle sound",), "Hip-Hop": ("hiphop",)}}
    assert cat.words.stop == ("song",)
    # the data decides which values exist: no artist is tagged hip-hop, so that one is ignored
    assert r.skipped["aliases.tag"] == {"aliases of a value the catalog lacks (ignored)": 1}


# ---------------------------------------------------------------- side data


def test_join_via_key_normalized_digits_first_source_wins(tmp_path: Path,
                                                          settings: Settings) -> None:
    items = "movieId,title\n1,Toy Story (1995)\n2,Jumanji (1995)\n3,Heat (1995)\n"
    links = "movieId,imdbId\n1,0114709\n2,113497\n3,0113277\n"
    first = "imdb_id,director,runtime\ntt0114709,John Lasseter,81\ntt0113497,,104\n"
    second = "imdb,director,runtime\n114709,Someone Else,99\n113497,Joe Johnston,1\n"
    body = KEYED_ITEMS + """
[[joins]]
file = "first.csv"
key = "imdb_id"
via = "imdb"
normalize = "digits"
[joins.fields]
director = { column = "director", kind = "people" }
runtime = { column = "runtime", kind = "number" }
[[joins]]
file = "second.csv"
key = "imdb"
via = "imdb"
normalize = "digits"
[joins.fields]
director = { column = "director", kind = "people" }
runtime = { column = "runtime", kind = "number" }
"""
    r, cat = imported(settings, write(tmp_path, body, {
        "movies.csv": items, "links.csv": links, "first.csv": first, "second.csv": second}))
    assert cat.item_attributes(0)["director"] == ["John Lasseter"]  # first join wins
    assert cat.item_attributes(1)["director"] == ["Joe Johnston"]  # first had none: second
    assert cat.item_attributes(2)["director"] == []  # in neither
    assert [cat.number("runtime", i) for i in range(3)] == [81, 104, None]
    assert cat.info("director").kind == "people"
    joined = {k: v for k, v in r.skipped.items() if k.startswith("join")}
    assert [v for k, v in joined.items() if "first.csv" in k] == [{"items matched": 2}]


def test_join_via_key_normalized_lower(tmp_path: Path, settings: Settings) -> None:
    items = "sku,title\n1,Lamp\n2,Chair\n"
    keys = "sku,code\n1,AB-12\n2,CD-34\n"
    side = "code,colour\nab-12,red\nCD-34,blue\n"
    body = """
[items]
file = "items.csv"
id = "sku"
title = "title"
[[keys]]
name = "code"
file = "keys.csv"
item = "sku"
key = "code"
[[joins]]
file = "side.csv"
key = "code"
via = "code"
normalize = "lower"
[joins.fields]
colour = { column = "colour" }
"""
    _, cat = imported(settings, write(tmp_path, body, {"items.csv": items, "keys.csv": keys,
                                                        "side.csv": side}))
    assert [cat.item_attributes(i)["colour"] for i in range(2)] == [["red"], ["blue"]]


# Wikipedia shapes: JSON arrays of films by decade, no IMDb id, titles as people write them
TITLE_ITEMS = ("movieId,title,plot\n"
               "1,\"Matrix, The (1999)\",\n"
               "2,Seven (a.k.a. Se7en) (1995),\n"
               "3,\"Misérables, Les (1995)\",\n"
               "4,Saw (2003),\n"
               "5,Saw (2004),\n"
               "6,Whiplash (2014),\n"
               "7,Hamlet (2000),\n"
               "8,\"Young Victoria, The (2009)\",\n"
               "9,\"Killer, The (Die xue shuang xiong) (1989)\",\n"
               "10,Alien (1979),\n"
               "11,Schindler's List (1993),Already known.\n"
               "12,Untitled Short,\n")
FILMS_1 = [{"title": "The Matrix", "year": 1999, "extract": "A hacker learns the truth."},
           {"title": "Se7en", "year": 1995, "extract": "Two detectives hunt a killer."},
           {"title": "Les Miserables", "year": 1995, "extract": "Lelouch's retelling."},
           {"title": "Killer!", "year": 1990, "extract": "Another film entirely."},
           {"title": "Alien", "year": 1981, "extract": "Too far off."},
           {"title": "Schindler\u2019s List", "year": 1993, "extract": "Never used."},
           {"title": "Hamlet", "year": 2000, "extract": "Almereyda's Hamlet."}]
FILMS_2 = [{"title": "Saw", "year": 2004, "extract": "Two men wake up chained."},
           {"title": "Whiplash", "year": 2013, "extract": "A drummer and his teacher."},
           {"title": "Hamlet", "year": 2000, "extract": "A made-for-TV Hamlet."},
           {"title": "The Young Victoria", "year": 2009, "extract": "Victoria's early reign."},
           {"title": "The Young Victoria", "year": 2009, "extract": "Victoria's early reign."},
           {"year": 2009}]
TITLE_JOIN = """
[items]
file = "movies.csv"
id = "movieId"
title = "title"
year = { column = "title", pattern = '\\((\\d{4})\\)\\s*$' }
[items.attributes.overview]
column = "plot"
kind = "text"
[[joins]]
files = ["films-1.json", "films-2.json"]
format = "json"
match = { title = "title", year = "year" }
[joins.fields]
overview = { column = "extract", kind = "text" }
"""


def test_join_by_title_and_year_only_where_unambiguous(tmp_path: Path,
                                                        settings: Settings) -> None:
    r, cat = imported(settings, write(tmp_path, TITLE_JOIN, {
        "movies.csv": TITLE_ITEMS, "films-1.json": json.dumps(FILMS_1, indent=2),
        "films-2.json": json.dumps(FILMS_2)}))
    got = {cat.titles[i]: cat.note("overview", i) for i in range(cat.n_items)}
    assert got == {
        "Matrix, The (1999)": "A hacker learns the truth.",  # trailing article moved back
        "Seven (a.k.a. Se7en) (1995)": "Two detectives hunt a killer.",  # alternate title
        "Misérables, Les (1995)": "Lelouch's retelling.",  # foreign article, accents
        "Saw (2003)": None,  # the 2004 row is the 2004 film's: a year off is no match then
        "Saw (2004)": "Two men wake up chained.",
        "Whiplash (2014)": "A drummer and his teacher.",  # off by one, nothing else near
        "Hamlet (2000)": None,  # two different rows of that title and year: neither
        "Young Victoria, The (2009)": "Victoria's early reign.",  # a row listed twice
        "Killer, The (Die xue shuang xiong) (1989)": None,  # "Killer!" is not "The Killer"
        "Alien (1979)": None,  # two years off
        "Schindler's List (1993)": "Already known.",  # the items file came first
        "Untitled Short": None,  # no year: never matched by year
    }
    assert r.skipped["join 1 (films-1.json (+1 more))"] == {
        "items matched": 7, "of those, with the year off by at most 1": 1,
        "items left unmatched: title and year ambiguous": 2}


def test_title_keys() -> None:
    from recsys.titlejoin import title_keys

    assert title_keys("City of Lost Children, The (Cité des enfants perdus, La) (1995)") == [
        "the city of lost children", "la cite des enfants perdus"]
    assert title_keys("Twelve Monkeys (a.k.a. 12 Monkeys) (1995)") == ["twelve monkeys",
                                                                      "12 monkeys"]
    assert title_keys("Atalante, L' (1934)") == title_keys("L'Atalante") == ["latalante"]
    assert title_keys("Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb") \
        == title_keys("Dr Strangelove Or How I Learned To Stop Worrying & Love The Bomb")
    assert title_keys("After Dark, My Sweet") == ["after dark my sweet"]  # not an article


def test_join_by_title_alone_and_its_row_errors(tmp_path: Path, settings: Settings) -> None:
    side = [{"name": "Nirvana", "country": "US"}, {"name": "Madonna", "country": "US"},
            {"name": "madonna", "country": "IT"}]  # two different Madonnas: neither
    body = ARTISTS_SPEC + """
[[joins]]
file = "countries.json"
format = "json"
match = { title = "name" }
[joins.fields]
country = { column = "country" }
"""
    _, cat = imported(settings, write(tmp_path, body, {**LASTFM,
                                                       "countries.json": json.dumps(side)}))
    assert [cat.item_attributes(i)["country"] for i in range(4)] == [["US"], [], [], []]
    films = ('[\n  {"title": "The Matrix", "year": 1999},\n'
             '  {"title": "Heat", "year": "mid-nineties"},\n  3\n]\n')
    spec = write(tmp_path / "bad", TITLE_JOIN.replace('"films-1.json", "films-2.json"',
                                                      '"films.json"'),
                 {"movies.csv": TITLE_ITEMS, "films.json": films})
    msg = refused(settings, spec)
    assert "films.json:3: field 'year': year 'mid-nineties' is not a number" in msg
    assert "films.json:4: field '(json)': array element is not an object" in msg
    spec = write(tmp_path / "bad2", TITLE_JOIN.replace('"films-1.json", "films-2.json"',
                                                       '"films.json"'),
                 {"movies.csv": TITLE_ITEMS, "films.json": '{"title": "Heat"}'})
    assert "format json needs a JSON array of objects" in refused(settings, spec)


def test_file_from_another_known_dataset(tmp_path: Path, settings: Settings,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from recsys import datasets
    from recsys.settings import get_settings

    mirror = tmp_path / "mirror"
    (mirror / "side").mkdir(parents=True)
    side = "movieId,director\n1,John Lasseter\n"
    (mirror / "side" / "directors.csv").write_text(side)
    digest = hashlib.sha256(side.encode()).hexdigest()
    monkeypatch.setitem(datasets.DATASETS, "side-test", datasets.Dataset(
        name="side-test", title="side data", files={"directors.csv": digest},
        mirror_path="side"))
    monkeypatch.setenv("TASTEBUD_MIRROR", str(mirror))
    get_settings.cache_clear()
    body = ('[items]\nfile = "movies.csv"\nid = "movieId"\ntitle = "title"\n'
            '[[joins]]\ndataset = "side-test"\nfile = "directors.csv"\nkey = "movieId"\n'
            '[joins.fields]\ndirector = { column = "director", kind = "people" }\n')
    spec = write(tmp_path / "cat", body, {"movies.csv": "movieId,title\n1,Toy Story\n2,Heat\n"})
    _, cat = imported(get_settings(), spec)
    assert cat.item_attributes(0)["director"] == ["John Lasseter"]
    assert (get_settings().datasets_dir / "side-test" / "directors.csv").is_file()


# ---------------------------------------------------------------- spec errors


@pytest.mark.parametrize("body, needle", [
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[[joins]]\nfile = "b.csv"\nkey = "k"\nvia = "imdb"\n[joins.fields]\nx = { column = "x" }\n',
     "join b.csv: via = 'imdb' names no [[keys]] entry (have: none)"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[items.attributes.genre]\ncolumn = "g"\nflags = ["Action"]\n',
     "items.attributes.genre: Value error, give either column = '...' or flags = [...]"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n[items.attributes.genre]\nsplit = "|"\n',
     "items.attributes.genre: Value error, give either column"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[items.attributes.runtime]\ncolumn = "r"\nkind = "number"\nsplit = "|"\n',
     "a number field holds one value"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[[attributes]]\nfield = "tag"\nfile = "t.csv"\nitem = "i"\nvalue = "v"\nsupport = "users"\n',
     "attributes.0: Value error, support = 'users' needs user = '<column>'"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[[interactions]]\nfile = "r.csv"\nuser = "u"\nitem = "i"\ncap = 5\n',
     "interactions.0: Value error, transform = 'cap' and cap = N go together"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[[interactions]]\nfile = "r.csv"\nuser = "u"\nitem = "i"\nrating_scale = [1, 5]\n',
     "rating_scale needs rating = '<column>'"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[[interactions]]\nfile = "r.csv"\nuser = "u"\nitem = "i"\ntransform = "sqrt"\n',
     "interactions.0.transform"),
    ('[items]\nfile = "a.db"\nformat = "sqlite"\nid = "id"\ntitle = "t"\n',
     "items: Value error, format 'sqlite' needs table"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\nquoting = "minimal"\n', "items.quoting"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\nescape = "ab"\n', "items.escape"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n[split]\nby = "time"\ntest = 0.6\n'
     'valid = 0.4\n', "test + valid must leave some training events"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n[split]\nby = "user"\n', "split.by"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n[words]\nitem = "artist"\nyear = false\n',
     "words.year"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n[users]\nfile = "u.csv"\nid = "id"\n',
     "users.attributes"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n[items.attributes.genre]\ncolumn = "g"\n'
     '[aliases.mood]\nDark = ["grim"]\n',
     "aliases.mood: no section defines field 'mood' (fields with values: ['genre'])"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[items.attributes.runtime]\ncolumn = "r"\nkind = "number"\n[aliases.runtime]\n"90" = ["x"]\n',
     "aliases.runtime: 'runtime' is a number field: no values to alias"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n[items.attributes.genre]\ncolumn = "g"\n'
     '[aliases.genre]\nDrama = ["--"]\n', "aliases.genre.Drama: phrase '--' has no word"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n[items.attributes.genre]\ncolumn = "g"\n'
     '[aliases.genre]\nDrama = "dramatic"\n', "aliases.genre.Drama: Input should be a valid list"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[[joins]]\nfile = "b.csv"\nkey = "k"\nmatch = { title = "t" }\n[joins.fields]\n'
     'x = { column = "x" }\n', "joins.0: Value error, give either key = '<column>' or match"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[[joins]]\nfile = "b.csv"\n[joins.fields]\nx = { column = "x" }\n',
     "joins.0: Value error, give either key = '<column>' or match"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[[joins]]\nfile = "b.csv"\nfiles = ["c.csv"]\nkey = "k"\n[joins.fields]\n'
     'x = { column = "x" }\n', "joins.0: Value error, give either file = '...' or files"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[[joins]]\nfile = "b.csv"\nnormalize = "lower"\nmatch = { title = "t" }\n'
     '[joins.fields]\nx = { column = "x" }\n', "via and normalize belong to key joins"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\n'
     '[[joins]]\nfiles = ["b.json", "c.json"]\nformat = "json"\n'
     'match = { title = "t", year = "y" }\n[joins.fields]\nx = { column = "x" }\n',
     "join b.json (+1 more): match by year needs the items' year"),
    ('[items]\nfile = "a.csv"\nid = "id"\ntitle = "t"\nyear = "y"\n'
     '[[joins]]\nfile = "b.json"\nformat = "json"\n'
     'match = { title = "t", year = "y", year_tolerance = 3 }\n[joins.fields]\n'
     'x = { column = "x" }\n', "joins.0.match.year_tolerance"),
])
def test_spec_errors_name_the_key(tmp_path: Path, settings: Settings, body: str,
                                  needle: str) -> None:
    spec = write(tmp_path, body, {})
    with pytest.raises(SpecError) as e:
        import_catalog(spec, settings)
    assert needle in str(e.value)


# ---------------------------------------------------------------- the real catalogs


@pytest.mark.dataset
def test_real_movielens_100k(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recsys.catalogs import open_catalog
    from recsys.settings import get_settings

    monkeypatch.setenv("TASTEBUD_MIRROR", str(mirror))
    get_settings.cache_clear()
    ml = open_catalog("movielens-100k", progress=False)
    assert (ml.n_items, ml.n_users, len(ml.interactions)) == (1682, 943, 100000)
    genre = ml.attributes["genre"]
    assert len(genre.values) == 18 and "unknown" not in genre.values  # 18 genres; see the spec
    assert int((genre.matrix.getnnz(axis=1) == 0).sum()) == 2  # 267 "unknown", 1373
    assert ml.item_attributes(ml.item("1"))["genre"] == ["Animation", "Children's", "Comedy"]
    assert ml.titles[ml.item("543")] == "Misérables, Les (1995)"  # latin-1
    assert ml.year(ml.item("1")) == 1995 and ml.year(ml.item("267")) is None
    assert ml.year(ml.item("1412")) == 1995  # "... (1995) (V)"
    inter = ml.interactions
    assert inter.ratings is not None and inter.ratings.min() == 1 and inter.ratings.max() == 5
    assert inter.splits is not None
    counts = {s: int((inter.splits == s).sum()) for s in ("train", "valid", "test")}
    assert counts == {"train": 69963, "valid": 10037, "test": 20000}
    assert sorted(ml.user_attributes) == ["age", "gender", "occupation"]
    assert len(ml.user_attributes["occupation"].values) == 21
    assert ml.user_attributes["gender"].of(ml.user("1")) == ["M"]
    assert (ml.words.item, ml.words.items) == ("movie", "movies")


@pytest.mark.dataset
def test_real_lastfm_2k(mirror: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
                        ) -> None:
    from recsys.catalogs import find_spec
    from recsys.settings import get_settings

    monkeypatch.setenv("TASTEBUD_MIRROR", str(mirror))
    get_settings.cache_clear()
    s = get_settings()
    r = import_catalog(find_spec("lastfm-2k", s), s, progress=False)
    assert (r.n_items, r.n_users, r.n_interactions) == (17632, 1892, 92834)
    assert r.skipped["user_taggedartists.dat"] == {"rows naming an unknown item (skipped)": 1538}
    assert r.skipped["field tag"] == {"pairs below min_support 2": 85184,
                                      "values dropped (no supported pair left)": 8630}
    lf = load_catalog(get_engine(s.database_url), "lastfm-2k")
    assert lf.titles[lf.item("1686")] == '"Weird Al" Yankovic'
    tags = lf.attributes["tag"]
    assert len(tags.values) == 1088
    assert "grunge" in lf.item_attributes(lf.item("234"))["tag"]  # Nirvana: 67 users
    assert "grunge" not in lf.item_attributes(lf.item("67"))["tag"]  # Madonna: one user
    w = lf.interactions.weights
    assert w is not None
    first = np.flatnonzero((lf.interactions.users == lf.user("2"))
                           & (lf.interactions.items == lf.item("51")))
    assert np.isclose(w[first[0]], np.log1p(13883))  # user 2 played artist 51 13,883 times
    assert lf.interactions.splits is not None and lf.interactions.timestamps is None
    counts = {x: int((lf.interactions.splits == x).sum()) for x in ("train", "valid", "test")}
    assert counts == {"train": 65102, "valid": 9120, "test": 18612}
    assert len(lf.user_links["friend"]) == 25434
    assert (lf.words.item, lf.words.years) == ("artist", False)


def test_interactions_by_external_key_rescaled_and_prefixed(tmp_path: Path,
                                                            settings: Settings) -> None:
    items = "movieId,title\n1,Toy Story (1995)\n2,Jumanji (1995)\n"
    links = "movieId,imdbId\n1,0114709\n2,113497\n"
    own = "userId,movieId,rating\n1,1,4.0\n"
    tweets = "1::0114709::10::1365029107\n1::0113497::0::1365029108\n2::0999999::7::1\n"
    body = KEYED_ITEMS + """
[[interactions]]
file = "ratings.csv"
user = "userId"
item = "movieId"
rating = "rating"
[[interactions]]
file = "tweets.dat"
format = "dsv"
delimiter = "::"
header = false
columns = ["user", "imdb", "rating", "ts"]
user = "user"
item = "imdb"
via = "imdb"
normalize = "digits"
rating = "rating"
timestamp = "ts"
rating_scale = [0, 10]
rescale_to = [0.5, 5]
user_prefix = "mt:"
on_unknown = "skip"
"""
    r, cat = imported(settings, write(tmp_path, body, {
        "movies.csv": items, "links.csv": links, "ratings.csv": own, "tweets.dat": tweets}))
    assert cat.user_ids == ["1", "mt:1"]  # another source's user 1 is another person
    inter = cat.interactions
    assert inter.items.tolist() == [0, 0, 1] and inter.ratings is not None
    np.testing.assert_allclose(inter.ratings, [4.0, 5.0, 0.5])  # 0-10 onto 0.5-5
    assert r.skipped["tweets.dat"] == {"rows naming an unknown item (skipped)": 1}


def test_interactions_via_an_unknown_key_is_a_spec_error(tmp_path: Path,
                                                         settings: Settings) -> None:
    body = U_ITEM_SPEC + U_DATA_SPEC + 'via = "imdb"\n'
    with pytest.raises(SpecError, match="interactions u.data: via = 'imdb' names no"):
        import_catalog(write(tmp_path, body, {"u.item": U_ITEM.encode("latin-1"),
                                              "u.data": U_DATA}), settings)
