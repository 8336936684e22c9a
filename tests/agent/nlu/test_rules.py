"""Rule families: attributes, negations, years, titles, refs, feedback, kinds, free text."""

from __future__ import annotations

import pytest

from agent.nlu.lexicon import Lexicon
from agent.nlu.request import Request
from agent.nlu.rules import extract
from recsys.catalog import Catalog


def parse(lex: Lexicon, text: str, shown: int | None = 5) -> Request:
    return extract(text, lex, shown=shown).request


@pytest.mark.parametrize("text, include, exclude", [
    ("some science fiction please", {"genre": ["Sci-Fi"]}, {}),
    ("a comdy for tonight", {"genre": ["Comedy"]}, {}),  # typo, fuzzy genre
    ("animated movies for kids", {"genre": ["Animation", "Children"]}, {}),
    ("something with vampires and time travel", {"tag": ["vampires", "time travel"]}, {}),
    ("a dark comedy", {"tag": ["dark comedy"]}, {}),  # longest phrase wins
    ("no horror", {}, {"genre": ["Horror"]}),
    ("a comedy but no romance", {"genre": ["Comedy"]}, {"genre": ["Romance"]}),
    ("nothing scary", {}, {"tag": ["scary"]}),
    ("anything but westerns", {}, {"genre": ["Western"]}),
    ("without romance or horror", {}, {"genre": ["Romance", "Horror"]}),
    ("I don't like horror, give me a thriller", {"genre": ["Thriller"]},
     {"genre": ["Horror"]}),
    ("a thriller, not with tom hanks", {"genre": ["Thriller"]}, {"tag": ["tom hanks"]}),
    ("a good movie", {}, {}),  # chat-word tags are not slots
])
def test_attributes_and_negations(films: Lexicon, text: str, include: dict,
                                  exclude: dict) -> None:
    req = parse(films, text)
    assert (req.include, req.exclude) == (include, exclude)


@pytest.mark.parametrize("text, lo, hi", [
    ("90s action", 1990, 1999), ("from the eighties", 1980, 1989), ("1970s horror", 1970, 1979),
    ("80's comedies", 1980, 1989), ("after 2010", 2011, None), ("since 2000", 2000, None),
    ("before 1970", None, 1969), ("between 1980 and 1990", 1980, 1990),
    ("from 1950 to 1965", 1950, 1965), ("movies from 1994", 1994, 1994),
    ("early 2000s", 2000, 2004), ("late 90s", 1995, 1999), ("the 2010s", 2010, 2019),
    ("a comedy, no 80s stuff", None, None),  # an excluded range is not a min/max
    # a bound said as a negation: the other side of it (a profile statement reads like this)
    ("nothing before 1990", 1990, None), ("no films made after 1979", None, 1979),
    ("nothing from before the 80s", 1980, None),
])
def test_years_and_decades(films: Lexicon, text: str, lo: int | None, hi: int | None) -> None:
    req = parse(films, text)
    assert (req.year_min, req.year_max) == (lo, hi)


@pytest.mark.parametrize("text, titles", [
    ("something like Alien but less scary", ["Alien (1979)"]),
    ("movies like the matrix", ["Matrix, The (1999)"]),
    ("The Matrix", ["Matrix, The (1999)"]),
    ("anything similar to the shawshank redemtion", ["Shawshank Redemption, The (1994)"]),
    ("I loved Her", ["Her (2013)"]),
    ("films similar to \"Up\"", ["Up (2009)"]),
    ("the thing from 1951", ["Thing, The (1951)"]),
    ("The Thing", ["Thing, The (1982)"]),
    ("back to the future and toy story", ["Back to the Future (1985)", "Toy Story (1995)"]),
    ("like Se7en", ["Seven (a.k.a. Se7en) (1995)"]),
])
def test_titles(films: Lexicon, text: str, titles: list[str]) -> None:
    assert parse(films, text).titles == titles


@pytest.mark.parametrize("text", [
    "I watched it up until the end", "her favourite is horror", "it was fine",
    "heat it up", "a superhero movie", "something like Oppenheimer",
    "more like number 2",  # a ref, not a fuzzy title
    "the thing is, I want comedies",  # lowercase, mostly common words
    "like Alien Resurrection Redux",  # part of a longer name the catalog lacks
])
def test_common_words_and_unknown_titles_are_not_titles(films: Lexicon, text: str) -> None:
    assert parse(films, text).titles == []


def test_year_after_title_picks_the_item_not_a_constraint(films: Lexicon) -> None:
    req = parse(films, "The Thing (1951)")
    assert req.titles == ["Thing, The (1951)"] and req.year_min is None


@pytest.mark.parametrize("text, refs", [
    ("number 2", [2]), ("#3 please", [3]), ("the first one", [1]), ("the 2nd one", [2]),
    ("the last one", [5]), ("option four", [4]), ("number 9", []),  # only 5 on screen
])
def test_refs(films: Lexicon, text: str, refs: list[int]) -> None:
    assert parse(films, text).refs == refs


def test_last_one_without_shown_list(films: Lexicon) -> None:
    assert parse(films, "the last one", shown=None).refs == [-1]
    assert parse(films, "the last one", shown=["a", "b", "c"]).refs == [3]


@pytest.mark.parametrize("text, feedback", [
    ("loved it", {"0": "like"}), ("seen it already", {"0": "seen"}),
    ("not this one", {"0": "dislike"}), ("#3 was great", {"3": "like"}),
    ("number 2 was great but I've seen the last one", {"2": "like", "5": "seen"}),
    ("I didn't like the 2nd one", {"2": "dislike"}),
    ("I hated Alien", {"Alien (1979)": "dislike"}),
    ("something like Alien", {}),  # "like" compares, it is no sentiment
])
def test_feedback(films: Lexicon, text: str, feedback: dict[str, str]) -> None:
    assert parse(films, text).feedback == feedback


@pytest.mark.parametrize("text, kind", [
    ("recommend a comedy", "recommend"), ("90s sci-fi", "recommend"),
    ("what about westerns instead?", "refine"), ("make it less violent", "refine"),
    ("more like number 2", "refine"), ("I loved number 2", "feedback"),
    ("why did you pick the first one?", "why"), ("who directed Heat?", "fact"),
    ("tell me more about the first one", "fact"), ("hi there!", "chitchat"),
    ("thanks, bye", "chitchat"),
])
def test_kind(films: Lexicon, text: str, kind: str) -> None:
    assert parse(films, text).kind == kind


def test_unclear_kind_is_marked_unsure(films: Lexicon) -> None:
    assert extract("it's raining here today", films).kind_sure is False
    assert extract("90s sci-fi", films).kind_sure is True


@pytest.mark.parametrize("text, free", [
    ("something like Alien but less scary", "less scary"),
    ("can you make them a bit more funny", "a bit more funny"),
    ("like the third one but funnier", "funnier"),
    ("action without too much gore", "too much gore"),
    ("a comedy", None),
])
def test_free_text(films: Lexicon, text: str, free: str | None) -> None:
    assert parse(films, text).free_text == free


def test_rules_on_synthetic_catalog(tiny_catalog: Catalog) -> None:
    lex = Lexicon.build(tiny_catalog)
    req = parse(lex, "some comedy from the 90s, no horror, like Item 7")
    assert req.include == {"genre": ["Comedy"]} and req.exclude == {"genre": ["Horror"]}
    assert (req.year_min, req.year_max) == (1990, 1999)
    assert req.titles == ["Item 7"]
