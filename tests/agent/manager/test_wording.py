"""The template's words: display titles, telling tags, one reason per item, the opening and
the question, on a hand-built catalog whose right answers are known."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from agent.manager.conversation import Constraints, Conversation
from agent.manager.reasons import lines, why
from agent.manager.reply import Outcome
from agent.manager.wording import opening, question, recommend_text, request_phrase
from recsys.catalog import Catalog, FieldInfo, Interactions, ItemAttributes, Words
from recsys.describe import clean_tag, telling
from recsys.titles import display_title, short_title


def _attr(name: str, rows: list[dict[str, float]]) -> ItemAttributes:
    values = sorted({v for r in rows for v in r})
    index = {v: j for j, v in enumerate(values)}
    m = sp.lil_matrix((len(rows), len(values)), dtype=np.float32)
    for i, r in enumerate(rows):
        for v, w in r.items():
            m[i, index[v]] = w
    return ItemAttributes(name, values, m.tocsr())


@pytest.fixture
def films() -> Catalog:
    titles = ["Toy Story (1995)", "Toy Story 2 (1999)", "Bug's Life, A (1998)",
              "Heat (1995)", "Matrix, The (1999)"]
    genre = [{"Animation": 1, "Comedy": 1}, {"Animation": 1, "Comedy": 1},
             {"Animation": 1, "Comedy": 1}, {"Crime": 1, "Thriller": 1},
             {"Action": 1, "Sci-Fi": 1}]
    director = [{"John Lasseter": 1}, {"John Lasseter": 1}, {"John Lasseter": 1},
                {"Michael Mann": 1}, {"Lana Wachowski": 1}]
    # tags count taggers: one person's "grunge" is noise, three people's "toys" is not
    tag = [{"toys": 3, "in netflix queue": 5, "grunge": 1}, {"toys": 2, "sequel": 2},
           {"insects": 4}, {"heist": 6, "dvd": 2, "nudity": 7, "book was better": 3},
           {"dystopia": 5, "mindfuck": 4}]
    users = np.repeat(np.arange(30), 5)
    items = np.tile(np.arange(5), 30)
    ratings = np.where(items == 4, 4.5, 3.0).astype(np.float32)
    return Catalog(
        name="films", fingerprint="f1", item_ids=[str(i) for i in range(5)], titles=titles,
        years=np.array([1995, 1999, 1998, 1995, 1999], np.int32), texts=[None] * 5,
        attributes={"genre": _attr("genre", genre), "director": _attr("director", director),
                    "tag": _attr("tag", tag)},
        user_ids=[str(u) for u in range(30)],
        interactions=Interactions(users, items, 30, 5, ratings=ratings),
        fields={"director": FieldInfo("people", True, "directed by"),
                "tag": FieldInfo("keywords", False)},
        words=Words("movie", "movies"))


def test_display_titles_read_as_people_write_them() -> None:
    assert display_title("Matrix, The (1999)") == "The Matrix"
    assert display_title("City of Lost Children, The (Cité des enfants perdus, La) (1995)") \
        == "The City of Lost Children (La Cité des enfants perdus)"
    assert short_title("Seven (a.k.a. Se7en) (1995)") == "Seven"
    assert display_title("Sex, Lies, and Videotape (1989)") == "Sex, Lies, and Videotape"
    assert display_title("Avventura, L' (1960)") == "L'Avventura"


def test_telling_tags_need_support_and_skip_junk(films: Catalog) -> None:
    assert telling(films, 0) == ["toys"]  # not the queue, not one person's "grunge"
    assert telling(films, 3) == ["heist"]  # "dvd" is about the tagger; a warning sells nothing
    assert telling(films, 4) == ["dystopia"]
    assert not clean_tag("bechdel test:fail") and not clean_tag("tag:") and clean_tag("heist")


def test_each_item_gets_a_reason_from_what_it_shares(films: Catalog) -> None:
    c = Constraints(seeds=["0"])
    assert why(films, 1, c, []) == "like Toy Story: directed by John Lasseter too; " \
                                   "known for sequel and toys"
    c = Constraints(include={"tag": ["heist"]})
    assert why(films, 3, c, []).startswith("heist, as you asked")
    # nothing shared or asked: what it is known for, and how raters here judge it
    assert why(films, 4, Constraints(), []) == \
        "known for dystopia; rated 4.5/5 by 30 people here"
    out = lines(films, [1, 2], Constraints(seeds=["0"]), [])
    assert out[0].startswith("1. Toy Story 2 (1999): like Toy Story")
    assert out[1].startswith("2. A Bug's Life (1998): ")


def test_values_every_item_has_are_said_once_in_the_opening(films: Catalog) -> None:
    c = Constraints(include={"genre": ["Animation"]})
    conv = Conversation("films", constraints=c)
    out = Outcome(action="recommend", items=[0, 1, 2], matches=3)
    text = recommend_text(out, conv, films)
    head, *rest = text.split("\n")
    assert head == "Here are animation movies."
    assert all("animation, as you asked" not in line for line in rest)
    assert len(rest) == 3  # one line per item; a narrow choice needs no question


def test_the_opening_says_back_the_request_without_what_had_to_give(films: Catalog) -> None:
    c = Constraints(include={"genre": ["Comedy", "Horror"]}, year_min=1990, year_max=1999,
                    exclude={"genre": ["Crime"]}, seeds=["0"], audience="child")
    assert request_phrase(films, c) == \
        "comedy horror movies from the 90s for kids like Toy Story, no crime"
    assert request_phrase(films, c, ("Horror", "the years")) == \
        "comedy movies for kids like Toy Story, no crime"
    out = Outcome(action="recommend", items=[1], relaxed=["Horror"])
    assert opening(out, Conversation("films", constraints=c), films) == \
        "Here are comedy movies from the 90s for kids like Toy Story, no crime."


def test_a_wide_choice_gets_one_question_not_every_turn(films: Catalog) -> None:
    conv = Conversation("films")
    out = Outcome(action="recommend", items=[0, 1], matches=None)
    q = question(out, conv, films)
    assert q == "Is there a movie you loved lately? Name it and I'll find more like it."
    conv.remember("assistant", "Here are ...\n" + q)
    assert question(out, conv, films) == ""  # heard once; not again
    conv.liked = ["0"]  # now something is known: the next useful question is the decade
    assert question(out, conv, films) == "Any decade you'd like, or is any fine?"
    assert question(Outcome(action="recommend", items=[0], matches=3), conv, films) == ""


def test_the_example_request_comes_from_the_catalog(films: Catalog) -> None:
    from agent.manager.wording import example_request

    # Animation and Comedy tie on 3 films; the first in the vocabulary wins
    assert example_request(films) == "some animation movies from the 90s"
    films.years[:] = 0  # a catalog without years: no decade
    films.fingerprint = "f2"  # another catalog version: its lexicon is built afresh
    assert "from the" not in example_request(films)
