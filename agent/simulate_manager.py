"""The full dialogue manager as a policy in ``tastebud simulate``: episodes in words.

The manager is built over the same history-only catalog as the id policies (its ALS and
popularity models fitted on it, its graph the same policy context), so it knows of each
episode user exactly what they did before the scene. The talking choice user
(``agent.simulators.talking``) plays the scene; the protocol is the id policies' one: the
opening is turn 1, then at most ``max_turns - 1`` manager replies, each list of
``list_size`` items; an episode is won when the user takes an item from a list.

Two checks per episode: a simulator message that names the target before it was shown
(a fuzzy title match) fails the episode and counts as a leak; a reply naming a title the
catalog does not have (``agent.manager.grounding.audit``) counts as ungrounded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.evaluate import Episode, Protocol, Run, forked_chunks
from agent.simulators.leaks import leaks


@dataclass
class Dialogue:
    """One simulated conversation as it was said: what a replay shows."""

    user: int  # dense catalog user of the scene
    target: int
    turns: list[dict[str, Any]] = field(default_factory=list)  # {"user", "assistant", ...}
    success: bool = False
    accepted: int | None = None
    leaked: bool = False
    ungrounded: list[str] = field(default_factory=list)

    def to_json(self, catalog: Any) -> dict[str, Any]:
        return {"user": catalog.user_ids[self.user], "target": catalog.item_ids[self.target],
                "target_title": catalog.titles[self.target], "success": self.success,
                "accepted": None if self.accepted is None else catalog.item_ids[self.accepted],
                "leaked_title": self.leaked, "ungrounded": self.ungrounded,
                "turns": self.turns}


def build_manager(catalog: Any, policy_context: Any, settings: Any = None, *,
                  list_size: int = 10, llm: Any = None, progress: bool | None = None) -> Any:
    """A manager over ``catalog`` (history-only) with models fitted on it here.

    ``llm=None`` is the rules path (``tastebud chat --model fake``): rule understanding and
    template replies. The catalog must be stored in the settings' database (the filter tool
    reads it there); ``open_catalog`` did that for a real one.
    """
    from agent.manager import Manager
    from agent.tools import ToolContext
    from recsys.models import create
    from recsys.serving import DEFAULT_PARAMS, training_interactions
    from recsys.settings import get_settings

    settings = settings or get_settings()
    data = training_interactions(catalog)
    als = create("als", **DEFAULT_PARAMS["als"]).fit(data, progress=progress)
    pop = create("popularity").fit(data, progress=False)
    ctx = ToolContext(catalog=catalog, settings=settings, recommender=als, popularity=pop,
                      policy_context=policy_context).warm()
    from agent.manager.planner import _content_matrix

    _content_matrix(catalog)  # built once here, before any fork, not in a worker's turn
    return Manager(ctx, llm=llm, list_size=list_size, llm_nlu=llm is not None,
                   reply_style="template" if llm is None else None)


def play(manager: Any, talker: Any, user: int, target: int, rng: np.random.Generator,
         protocol: Protocol = Protocol()) -> tuple[Episode, Dialogue]:
    """One conversation of the talking user with the manager, to a take or the turn limit."""
    from agent.manager.grounding import audit

    cat = manager.catalog
    title = cat.titles[target]
    dia = Dialogue(int(user), int(target))
    conv = manager.start(cat.user_ids[user])
    text = talker.start(user, target, rng)
    shown = False
    spent = 0.0
    for action in range(protocol.max_turns - 1):
        if not shown and leaks(text, title):
            dia.leaked = True
        t0 = time.perf_counter()
        res = manager.respond(conv, text)
        took = time.perf_counter() - t0
        spent += took
        items = [c["id"] for c in (res.get("items") or [])]
        bad = [b for b in audit(res["text"], text, set(res.get("grounded_items") or []), cat)
               if "not in catalog" in b]
        dia.ungrounded += bad
        shown = shown or cat.item_ids[target] in items
        said = talker.reply(res)
        dia.turns.append({"user": text, "assistant": res["text"], "items": items,
                          "action": res.get("action"), "question": res.get("question"),
                          "trace": res.get("trace") or [], "seconds": round(took, 3)})
        if said.accepted is not None:
            dia.turns.append({"user": said.text, "assistant": None, "items": [],
                              "action": None, "question": None, "trace": [], "seconds": 0.0})
            dia.success, dia.accepted = not dia.leaked, said.accepted
            turns = action + 2
            won = dia.success
            return (Episode(user, target, won, turns if won else protocol.max_turns,
                            said.rank if won else None, 0, 0, (), said.accepted, shown,
                            spent), dia)
        text = said.text
    return (Episode(user, target, False, protocol.max_turns, None, 0, 0, (), None, shown,
                    spent), dia)


_JOB: tuple[Any, Any, np.ndarray, int, Protocol] | None = None


def _play(bounds: tuple[int, int]) -> list[tuple[Episode, Dialogue]]:
    if _JOB is None:
        raise RuntimeError("manager worker started without a job")
    manager, talker, pairs, seed, protocol = _JOB
    return [play(manager, talker, int(pairs[k, 0]), int(pairs[k, 1]),
                 np.random.default_rng([seed, k]), protocol) for k in range(*bounds)]


def _worker_start() -> None:
    """A forked worker opens its own database connections (SQLite's must not cross a fork)
    and runs torch on one thread (the workers share the cores; an OpenMP pool inherited
    across a fork can hang)."""
    import sys

    if _JOB is not None and _JOB[0].base.engine is not None:
        _JOB[0].base.engine.dispose(close=False)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def evaluate_manager(manager: Any, talker: Any, pairs: np.ndarray, *, seed: int = 0,
                     protocol: Protocol = Protocol(), workers: int = 1,
                     progress: bool | None = None, chunk: int = 4
                     ) -> tuple[Run, list[Dialogue]]:
    """Play one episode per (user, target) pair; episode k draws from ``rng([seed, k])``, so
    results do not depend on ``workers``. Worker processes are forked (they share the
    manager's loaded models); the Ray backend is not offered for the manager (its database
    handles and caches do not travel), so ``simulate_report`` runs it on the pool."""
    import sys

    from tqdm.auto import tqdm

    global _JOB
    show = sys.stderr.isatty() if progress is None else progress
    bounds = [(a, min(a + chunk, len(pairs))) for a in range(0, len(pairs), chunk)]
    _JOB = (manager, talker, pairs, seed, protocol)
    out: list[tuple[Episode, Dialogue]] = []
    bar = tqdm(total=len(pairs), desc="manager episodes", unit="ep", disable=not show,
               leave=False)
    t0 = time.perf_counter()
    try:
        for part in forked_chunks(_play, bounds, workers, _worker_start):
            out += part
            bar.update(len(part))
    finally:
        bar.close()
        _JOB = None
    run = Run("manager", [e for e, _ in out], time.perf_counter() - t0, protocol)
    return run, [d for _, d in out]


def dialogue_rates(dialogues: list[Dialogue]) -> dict[str, float]:
    """Share of episodes with a leaked title, and with an ungrounded (not in catalog) item."""
    n = max(len(dialogues), 1)
    return {"leaked_title_rate": sum(d.leaked for d in dialogues) / n,
            "ungrounded_rate": sum(bool(d.ungrounded) for d in dialogues) / n}
