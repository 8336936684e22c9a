"""Understanding speaks each catalog's words: value aliases, item words and domain words come
from its spec, so one set of rules serves movies and music."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from agent.nlu.lexicon import Lexicon
from agent.nlu.request import Request
from agent.nlu.rules import extract
from recsys.catalog import Catalog, Interactions, ItemAttributes, Words
from tests.agent.nlu.conftest import film_catalog


def parse(lex: Lexicon, text: str, shown: int | None = 5) -> Request:
    return extract(text, lex, shown=shown).request


def test_a_spec_alias_is_understood_only_where_the_spec_gives_it() -> None:
    films = film_catalog()  # aliases of the movielens-small spec
    told = Lexicon.build(replace(films, aliases={**films.aliases, "tag": {"heist": ("caper",)}}))
    bare = Lexicon.build(replace(films, name="bare", aliases={}))
    # ("sci fi" is the value's own words, and "scifi" a close typo of them)
    for text, want in [("some science fiction", {"genre": ["Sci-Fi"]}),
                       ("cowboy movies", {"genre": ["Western"]}),
                       ("a caper", {"tag": ["heist"]})]:  # any field with values, not only genre
        assert parse(told, text).include == want, text
        assert parse(bare, text).include == {}, text
    # plurals are English, not the spec's: "comedies" needs no alias
    assert parse(bare, "some comedies").include == {"genre": ["Comedy"]}


def test_an_alias_never_outbids_a_value_of_its_own() -> None:
    films = film_catalog()
    lex = Lexicon.build(replace(films, aliases={"tag": {"heist": ("vampires",)}}))
    assert lex.attr_phrases["vampires"] == ("tag", "vampires")


def test_domain_words_of_the_spec_are_no_tags() -> None:
    films = film_catalog()
    tags = [*films.attributes["tag"].values, "plot"]
    m = films.attributes["tag"].matrix
    m = sp.hstack([m, sp.csr_matrix(np.ones((films.n_items, 1), np.float32))]).tocsr()
    talky = replace(films, attributes={**films.attributes, "tag": ItemAttributes("tag", tags, m)})
    assert "plot" not in Lexicon.build(talky).attr_phrases  # movielens-small: stop = [.., "plot"]
    quiet = replace(talky, name="quiet", words=replace(films.words, stop=()))
    assert Lexicon.build(quiet).attr_phrases["plot"] == ("tag", "plot")


# a tiny Last.fm: artists, their tags, no years
ARTISTS = [("Madonna", ["pop", "80s", "female vocalists"], 40),
           ("Nirvana", ["grunge", "90s"], 35),
           ("Kraftwerk", ["electronic", "80s"], 20),
           ("Daft Punk", ["electronic", "house"], 30),
           ("Bjork", ["electronic", "female vocalists"], 25),
           ("Pearl Jam", ["grunge"], 15)]


def music_catalog() -> Catalog:
    n = len(ARTISTS)
    tags = sorted({t for a in ARTISTS for t in a[1]})
    rows = [i for i, a in enumerate(ARTISTS) for _ in a[1]]
    cols = [tags.index(t) for a in ARTISTS for t in a[1]]
    tag_m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, len(tags)))
    items = np.concatenate([np.full(a[2], i) for i, a in enumerate(ARTISTS)]).astype(np.int32)
    users = np.arange(len(items), dtype=np.int32) % 50
    key = np.unique(users.astype(np.int64) * n + items)
    return Catalog(
        name="bands", fingerprint="bands-v1", item_ids=[str(i + 1) for i in range(n)],
        titles=[a[0] for a in ARTISTS], years=np.zeros(n, np.int32), texts=[None] * n,
        attributes={"tag": ItemAttributes("tag", tags, tag_m)},
        user_ids=[str(u) for u in range(50)],
        interactions=Interactions((key // n).astype(np.int32), (key % n).astype(np.int32),
                                  50, n),
        words=Words("artist", "artists", ("band", "bands", "singer", "singers"), years=False),
        aliases={"tag": {"female vocalists": ("female singers",)}})


def test_item_words_of_a_music_catalog() -> None:
    lex = Lexicon.build(music_catalog())
    assert "movie" not in lex.filler and {"artist", "artists", "bands"} <= lex.filler
    req = parse(lex, "some artists like Madonna")
    assert (req.kind, req.titles) == ("recommend", ["Madonna"])
    # "movies like that" asks for more on MovieLens; "bands like that" does here
    req = parse(lex, "I loved Nirvana, bands like that please")
    assert (req.kind, req.feedback) == ("recommend", {"Nirvana": "like"})
    # "what kind of movies do you ..." is talk back; so is the same about bands
    p = extract("what kind of bands do you listen to?", lex)
    assert (p.request.kind, p.kind_sure) == ("chitchat", True)
    # "the last movie", "top movie" name shown items; "the last artist", "top artist" here
    req = parse(lex, "I liked the last artist")
    assert (req.refs, req.feedback) == ([5], {"5": "like"})
    assert parse(lex, "top artist please").refs == [1]
    # "no movies with gore": the item word sits between a negation and what it negates
    assert parse(lex, "no bands with grunge").exclude == {"tag": ["grunge"]}
    # the spec's alias; "80s" is a tag where there are no years
    req = parse(lex, "female singers from the 80s")
    assert req.include == {"tag": ["female vocalists", "80s"]} and req.year_min is None
