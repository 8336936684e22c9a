"""The manager as a policy in ``tastebud simulate``: the talking choice user, leaks, grounding."""

from __future__ import annotations

import re

import numpy as np
import pytest

from agent.simulate import simulate_report
from agent.simulate_manager import Dialogue, dialogue_rates, play
from agent.simulators.choice_model import ChoiceModel
from agent.simulators.choice_user import ChoiceUser
from agent.simulators.leaks import leaks
from agent.simulators.scenes import build_scenes
from agent.simulators.talking import TalkingUser
from recsys.catalog import Catalog
from recsys.graph import build_graph
from recsys.settings import Settings
from recsys.synthetic import make_catalog

KEYS = {"SR@5", "SR@10", "SR@15", "AT", "recall@10", "ungrounded_rate", "leaked_title_rate",
        "turn_p50_s"}
_FIRST = ["Crimson", "Silent", "Golden", "Broken", "Hidden", "Electric", "Frozen", "Burning",
          "Velvet", "Iron"]
_SECOND = ["Harbor", "Meridian", "Lantern", "Orchard", "Cathedral", "Horizon", "Canyon",
           "Monsoon", "Paradox"]


def talk_catalog() -> Catalog:
    """90 items in 4 genres with timestamped ratings and movie-like titles."""
    cat = make_catalog(n_users=120, n_items=90, per_user=20, seed=5, name="talk")
    cat.titles = [f"{_FIRST[i % 10]} {_SECOND[i // 10]} ({int(cat.years[i])})"
                  for i in range(cat.n_items)]
    return cat


@pytest.fixture(scope="module")
def world():
    cat = talk_catalog()
    sset = build_scenes(cat, seed=1, progress=False)
    graph = build_graph(cat)
    cm = ChoiceModel(epochs=5, progress=False).fit(sset.world, sset.scenes["train"])
    scenes = [s for p in ("dev", "heldout") for s in sset.scenes[p]
              if len(graph.matrices.attrs_of(s.chosen))]
    return cat, ChoiceUser(graph, cm, scenes), scenes


@pytest.fixture
def manager(world, settings: Settings):
    from agent.policies import build_context
    from agent.simulate_manager import build_manager
    from recsys.db import get_engine
    from recsys.store import save_catalog

    cat = world[0]
    settings.embedding_model = "hashing-64"
    save_catalog(get_engine(settings.database_url), cat)
    return build_manager(cat, build_context(cat), settings, progress=False)


def test_the_fuzzy_match_finds_a_title_in_any_form() -> None:
    assert leaks("have you got the matrix?", "Matrix, The (1999)")
    assert leaks("I want Shawshank Redemtion", "Shawshank Redemption, The (1994)")
    assert not leaks("some sci-fi from the 90s", "Matrix, The (1999)")
    assert not leaks("something with heat", "Heath (2001)")  # short forms: word for word


def test_the_talking_user_never_names_its_target_before_it_is_shown(world) -> None:
    cat, choice, scenes = world
    talker = TalkingUser(choice, cat)
    rng = np.random.default_rng(0)
    said = asked_with_decade = 0
    for k in range(200):
        s = scenes[k % len(scenes)]
        text = talker.start(s.user, s.chosen, np.random.default_rng([7, k]))
        assert not leaks(text, cat.titles[s.chosen]), text
        assert "?," not in text and "? " not in text, text  # a decade goes before the "?"
        asked_with_decade += bool(re.search(r"\d{4}s\?$", text))
        for _ in range(4):
            others = [int(i) for i in rng.choice(cat.n_items, 10, replace=False)
                      if i != s.chosen]
            turn = {"items": [{"id": cat.item_ids[i]} for i in others], "question": None}
            out = talker.reply(turn)
            if out.accepted is None:
                assert not leaks(out.text, cat.titles[s.chosen]), out.text
            said += 1
    assert said == 800
    assert asked_with_decade  # the question form met a decade at least once


def test_the_talking_user_names_a_shown_target_and_takes_it(world) -> None:
    cat, choice, scenes = world
    talker = TalkingUser(choice, cat)
    s = scenes[0]
    talker.start(s.user, s.chosen, np.random.default_rng(1))
    out = talker.reply({"items": [{"id": cat.item_ids[s.negatives[0]]},
                                  {"id": cat.item_ids[s.chosen]}]})
    assert out.accepted == s.chosen and out.rank == 2 and "number 2" in out.text


def test_the_manager_understands_what_the_talking_user_says(world, manager) -> None:
    """Openings set a genre; yes/no answer the pending question; turn-downs edit the list."""
    cat, choice, scenes = world
    talker = TalkingUser(choice, cat)
    for k, s in enumerate(scenes[:12]):
        conv = manager.start(cat.user_ids[s.user])
        opening = talker.start(s.user, s.chosen, np.random.default_rng([3, k]))
        res = manager.respond(conv, opening)
        assert res["request"]["include"] or res["request"].get("year_min"), opening
        if res["question"]:
            ans = talker.reply(res)
            assert manager.respond(conv, ans.text)["acts"][0]["act"] in (
                "answer_yes", "answer_no"), ans.text
        elif res["items"]:
            out = talker.reply(res)
            if out.accepted is None:
                acts = {a["act"] for a in manager.respond(conv, out.text)["acts"]}
                assert acts & {"list_edit", "refine", "more", "request"}, (out.text, acts)


def test_an_injected_leak_fails_the_episode_and_is_counted(world, manager) -> None:
    cat, choice, scenes = world

    class Leaky(TalkingUser):
        def start(self, user: int, target: int, rng: np.random.Generator) -> str:
            super().start(user, target, rng)
            return f"I want {cat.titles[target][:-7]}"

    s = scenes[0]
    ep, dia = play(manager, Leaky(choice, cat), s.user, s.chosen, np.random.default_rng(0))
    assert dia.leaked and not ep.success
    rates = dialogue_rates([dia, Dialogue(0, 1)])
    assert rates["leaked_title_rate"] == 0.5


def test_simulate_report_runs_the_manager_and_returns_every_key(settings: Settings) -> None:
    from recsys.db import get_engine
    from recsys.store import save_catalog

    cat = talk_catalog()
    settings.embedding_model = "hashing-64"
    save_catalog(get_engine(settings.database_url), cat)
    said: list[dict] = []
    report = simulate_report(cat, ["manager", "graph"], "choice_model", episodes=12,
                             manager_episodes=6, seed=1, workers=2, progress=False,
                             settings=settings, dialogues=said)
    m = report["policies"]["manager"]
    assert set(m) >= KEYS and m["episodes"] == 6
    assert m["leaked_title_rate"] == 0 and m["ungrounded_rate"] == 0
    assert 0 <= m["SR@5"] <= m["SR@10"] <= m["SR@15"] <= 1 and m["turn_p50_s"] > 0
    assert len(said) == 6 and all(d["turns"] for d in said)
    assert report["policies"]["graph"]["leaked_title_rate"] is None
