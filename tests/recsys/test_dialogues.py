"""ReDial-format dialogues: turns, mention replacement, title mapping, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsys.dialogues import DialogueFileError, TitleMapper, read_dialogues
from recsys.synthetic import make_catalog


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_turns_group_messages_by_side_and_mentions_read_as_names(tmp_path: Path) -> None:
    p = _write(tmp_path / "d.jsonl", [{
        "conversationId": "7", "initiatorWorkerId": 1,
        "movieMentions": {"11": "Heat  (1995)"},
        "messages": [{"senderWorkerId": 1, "text": "hi"},
                     {"senderWorkerId": 1, "text": "I loved @11"},
                     {"senderWorkerId": 2, "text": "try @11 and @99"}]}])
    (d,) = read_dialogues(p)
    assert [t.seeker for t in d.turns] == [True, False]
    assert d.turns[0].movies == ("11",) and d.turns[1].movies == ("11", "99")
    assert d.text_of(d.turns[0]) == "hi\nI loved Heat (1995)"
    assert d.text_of(d.turns[1]) == "try Heat (1995) and that movie"


def test_a_bad_file_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"messages": []}\n', encoding="utf-8")
    with pytest.raises(DialogueFileError, match="bad.jsonl:1"):
        read_dialogues(p)
    with pytest.raises(DialogueFileError, match="no dialogue file"):
        read_dialogues(tmp_path / "missing.jsonl")


def test_title_mapper_tolerates_articles_subtitles_and_wrong_years() -> None:
    cat = make_catalog(n_items=6)
    cat.titles = ["Matrix, The (1999)", "Jumanji (1995)", "Jumanji: Welcome to the Jungle (2017)",
                  "Titanic (1997)", "Heat (1995)", "Avengers: Infinity War - Part I (2018)"]
    cat.years[:] = [1999, 1995, 2017, 1997, 1995, 2018]
    m = TitleMapper(cat)
    assert m("The Matrix  (1999)") == 0 and m("The Matrix (2000)") == 0
    assert m("Jumanji  (2017)") == 2 and m("Jumanji (1995)") == 1
    assert m("Titanic (2012)") == 3  # ReDial's lookup picked another film of the name
    assert m("Avengers: Infinity War (2018)") == 5
    assert m("Heat") == 4 and m("Blorptastic Voyage (2001)") is None


def test_inspired_layout_reads_as_dialogues(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from recsys.dialogues import read_dialogues

    turns = [{"text": "Hi! What do you like?", "role": "RECOMMENDER", "movie": []},
             {"text": "I loved Joker", "role": "SEEKER", "movie": ["Joker (2019)"]},
             {"text": "and Heat", "role": "SEEKER", "movie": ["Heat (1995)"]},
             {"text": "Try Knives Out", "role": "RECOMMENDER", "movie": ["Knives Out (2019)"]}]
    path = tmp_path / "inspired.jsonl"
    path.write_text(json.dumps(turns) + "\n")
    (d,) = read_dialogues(path)
    assert [t.seeker for t in d.turns] == [False, True, False]
    assert [d.names[m] for m in d.turns[1].movies] == ["Joker (2019)", "Heat (1995)"]
    assert [d.names[m] for m in d.turns[2].movies] == ["Knives Out (2019)"]
    path.write_text(json.dumps([{"text": "no role"}]) + "\n")
    import pytest

    from recsys.dialogues import DialogueFileError

    with pytest.raises(DialogueFileError, match="role"):
        read_dialogues(path)
