"""Lexicon: aliases, plurals, tags, title forms and grounding."""

from __future__ import annotations

import pytest

from agent.nlu.lexicon import Lexicon, lexicon_for, normalize, title_forms
from recsys.catalog import Catalog


@pytest.mark.parametrize("phrase, value", [
    ("sci fi", "Sci-Fi"), ("scifi", "Sci-Fi"), ("science fiction", "Sci-Fi"),
    ("sci-fi", "Sci-Fi"), ("comedies", "Comedy"), ("kids", "Children"), ("cartoons", "Animation"),
    ("film noir", "Film-Noir"), ("westerns", "Western"), ("romantic", "Romance"),
    ("documentaries", "Documentary"),
])
def test_genre_aliases(films: Lexicon, phrase: str, value: str) -> None:
    assert films.attr_phrases[normalize(phrase)] == ("genre", value)


def test_tags_plural_and_exact_values(films: Lexicon) -> None:
    # both forms are catalog tags, so each phrase names its own value
    assert films.attr_phrases["vampire"] == ("tag", "vampire")
    assert films.attr_phrases["vampires"] == ("tag", "vampires")
    assert films.attr_phrases["heists"] == ("tag", "heist")
    assert films.attr_phrases["time travel"] == ("tag", "time travel")


def test_chat_word_and_decade_tags_are_not_phrases(films: Lexicon) -> None:
    assert "good" not in films.attr_phrases
    assert "1990s" not in films.attr_phrases


def test_title_forms_move_articles_and_keep_alternates() -> None:
    forms, year = title_forms("Matrix, The (1999)")
    assert year == 1999 and {"the matrix", "matrix"} <= set(forms)
    forms, _ = title_forms("Seven (a.k.a. Se7en) (1995)")
    assert {"seven", "se7en"} <= set(forms)
    forms, _ = title_forms("Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)")
    assert "amelie" in forms


def test_best_item_prefers_year_then_popularity(films: Lexicon) -> None:
    assert films.titles[films.best_item("the thing")] == "Thing, The (1982)"
    assert films.titles[films.best_item("the thing", 1951)] == "Thing, The (1951)"
    assert films.best_item("oppenheimer") is None


def test_grounding_free_strings(films: Lexicon) -> None:
    assert films.ground_value("genre", "science fiction") == "Sci-Fi"
    assert films.ground_value("genre", "horror") == "Horror"
    assert films.ground_value("genre", "Cyberpunk") is None
    assert films.ground_value("mood", "Horror") is None
    assert films.ground_title("The Matrix") == "Matrix, The (1999)"
    assert films.ground_title("Back to the Futur") == "Back to the Future (1985)"
    assert films.ground_title("Oppenheimer") is None


def test_synthetic_catalog_and_cache(tiny_catalog: Catalog) -> None:
    lex = lexicon_for(tiny_catalog)
    assert lexicon_for(tiny_catalog) is lex
    assert lex.attr_phrases["comedy"] == ("genre", "Comedy")
    assert lex.ground_title("Item 7") == "Item 7"
