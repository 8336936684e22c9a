"""Inferring a preference from an edit: the values the removed items share and the kept lack."""

from __future__ import annotations

import pytest

from profiles.rules import Rule, infer, merge
from tests.agent.manager.conftest import movie_catalog

CAT = movie_catalog()  # genre by position: 0 Action 1 Comedy 2 Drama 3 Horror, repeating


def test_two_removed_horror_films_make_a_filter() -> None:
    shown, kept = [3, 7, 1, 2, 5], [1, 2, 5]  # Broken Harbor, Burning Harbor: Horror
    rule = infer(CAT, shown, kept)
    assert rule == Rule(exclude={"genre": ["Horror"]})
    assert rule.describe(CAT) == "no Horror"
    assert not rule.admits(CAT, 11) and rule.admits(CAT, 1)


def test_one_removal_only_ranks_down() -> None:
    rule = infer(CAT, [3, 1, 2], [1, 2])
    assert rule is not None and rule.less == {"genre": ["Horror"]} and not rule.exclude


def test_old_films_taken_off_read_as_a_year_bound() -> None:
    shown = [0, 1, 2, 7, 8, 9]  # 1950, 1957, 1964 and 1999, 2006, 2013
    rule = infer(CAT, shown, [7, 8, 9])
    assert rule == Rule(ranges={"year": [1990, None]})
    assert rule.describe(CAT) == "nothing before 1990"


def test_a_value_the_kept_items_have_too_is_not_blamed() -> None:
    rule = infer(CAT, [1, 5], [5])  # both Comedy: the genre explains nothing
    assert rule is not None and "genre" not in rule.less and "genre" not in rule.exclude
    assert infer(CAT, [1, 2], [1, 2]) is None  # nothing removed


def test_merge_newest_wins() -> None:
    old = Rule(exclude={"genre": ["Horror"]}, ranges={"year": [1990, None]})
    new = Rule(less={"genre": ["Horror"]}, ranges={"year": [1980, None]})
    out = merge([old, new])
    assert out.exclude == {} and out.less == {"genre": ["Horror"]}
    assert out.ranges == {"year": [1980, None]}
    assert Rule.from_json(out.to_json()) == out


def test_a_keyword_only_ranks_down_however_often_removed(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    from profiles import rules
    from recsys.catalog import FieldInfo

    monkeypatch.setattr(rules, "MIN_SUPPORT", 1)  # the tiny catalog's tags are on few items
    cat = movie_catalog()
    cat.fields = {**cat.fields, "tag": FieldInfo(kind="keywords")}
    kept = [2, 10]  # 1964 and 2020: the removed films' years are no explanation
    tagged = [i for i in range(cat.n_items) if "tag13" in cat.item_attributes(i)["tag"]
              and 1964 < (cat.year(i) or 0) < 2020]
    assert len(tagged) >= 2
    rule = infer(cat, [*tagged, *kept], kept)
    assert rule is not None and rule.less.get("tag") == ["tag13"] and "tag" not in rule.exclude


def test_a_reason_said_is_kept_where_it_explains_the_removal() -> None:
    from profiles.rules import from_reason

    # "number 1 is too old": the 1950 film goes; the bound explains it
    assert from_reason(CAT, {"ranges": {"year": [1960, None]}}, [0]) == \
        Rule(ranges={"year": [1960, None]})
    # a bound the removed film passes explains nothing
    assert from_reason(CAT, {"ranges": {"year": [1940, None]}}, [0]) is None
    # "too scary": only the values the removed film has, ranked down
    assert from_reason(CAT, {"less": {"genre": ["Horror", "Action"]}}, [3]) == \
        Rule(less={"genre": ["Horror"]})
    assert from_reason(CAT, None, [3]) is None and from_reason(CAT, {"less": {}}, []) is None
