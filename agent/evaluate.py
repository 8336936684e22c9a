"""Multi-round conversational evaluation: episode loop, metrics, parallel runs, SR-by-turn plot.

Protocol (BENCHMARKS.md section 1, as in the CPR/SCPR/UNICORN code): the user's opening
statement is turn 1; the agent then has at most ``max_turns - 1`` actions (14). Metrics follow
the authors' evaluation code, with ``t`` the 0-based index of the successful agent action
(the opening not counted): SR@k = share of episodes won at ``t < k``; AT = mean of ``t + 1``
for a success and ``max_turns`` for a failure; hDCG = mean of
``1/log2(t+3) + (1/log2(t+2) - 1/log2(t+3)) / log2(r+1)`` (r = 1-based rank), 0 for failures.
``AT_counting_opening`` also counts the opening turn for successes (``t + 2``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent.policy import Ask, Policy, Recommend
from agent.simulators.base import UserSimulator
from agent.state import Attribute, DialogueState, TurnRecord
from recsys.catalog import Catalog
from recsys.graph import CatalogGraph

AUTHORS_SEED = 1  # the CPR/UNICORN environments call set_random_seed(1) before shuffling
AUTHORS_PAIRS = 4000  # "only do 4000 iterations for the sake of time" (their evaluate code)


@dataclass(frozen=True)
class Protocol:
    """Turn budget and list size of the binary-question protocol."""

    max_turns: int = 15
    list_size: int = 10


@dataclass(frozen=True)
class Episode:
    """One simulated conversation's outcome."""

    user: int
    target: int
    success: bool
    turns: int  # turns used, the opening included (max_turns on failure)
    rank: int | None  # 1-based rank of the target in the winning list
    asks: int
    recommendations: int
    history: tuple[TurnRecord, ...] = ()
    accepted: int | None = None  # the item the user took (a lenient user may take another)
    target_shown: bool = False  # the target was in some list shown
    seconds: float = field(default=0.0, compare=False)  # wall time: not part of the outcome

    @property
    def action_index(self) -> int | None:
        """0-based index of the winning agent action (the opening not counted)."""
        return self.turns - 2 if self.success else None


def items_having(graph: CatalogGraph, attributes: Sequence[Attribute]) -> np.ndarray:
    """Sorted items that have every one of ``attributes``."""
    mats = graph.matrices
    items = np.arange(graph.n_items, dtype=np.int32)
    for a in attributes:
        items = np.intersect1d(items, mats.items_with(mats.attr_index[(a[0], a[1])]))
    return items.astype(np.int32)


def run_episode(policy: Policy, simulator: UserSimulator, graph: CatalogGraph, user: int,
                target: int, rng: np.random.Generator, protocol: Protocol = Protocol(), *,
                keep_history: bool = False) -> Episode:
    """Play one conversation for (user, target) to success or the turn limit."""
    t0 = time.perf_counter()
    state = DialogueState.start(user, graph.n_items, max_turns=protocol.max_turns,
                                list_size=protocol.list_size)
    shown = False
    opening = simulator.start(user, target, rng)
    state.record_statement(opening, items_having(graph, opening))
    asks = recs = 0
    while state.turn < protocol.max_turns:
        action = policy.act(state)
        if isinstance(action, Ask):
            asks += 1
            state.record_answers(action.attributes,
                                 [simulator.answer(a) for a in action.attributes])
        elif isinstance(action, Recommend):
            if len(action.items) > protocol.list_size:
                raise ValueError(f"policy '{policy.name}' recommended {len(action.items)} "
                                 f"items; the protocol allows {protocol.list_size}")
            recs += 1
            shown = shown or int(target) in {int(i) for i in action.items}
            rank = simulator.judge(action.items)
            state.record_recommendation(action.items, rank)
            if rank is not None:
                return Episode(user, target, True, state.turn, rank, asks, recs,
                               tuple(state.history) if keep_history else (),
                               int(action.items[rank - 1]), shown, time.perf_counter() - t0)
        else:
            raise TypeError(f"policy '{policy.name}' returned {action!r}, not Ask or Recommend")
    return Episode(user, target, False, protocol.max_turns, None, asks, recs,
                   tuple(state.history) if keep_history else (), None, shown,
                   time.perf_counter() - t0)


def metrics(episodes: Sequence[Episode], protocol: Protocol = Protocol()) -> dict[str, Any]:
    """SR@5/10/15, AT, hDCG and the SR-by-turn curve (authors' definitions, see module doc)."""
    n = len(episodes)
    if not n:
        raise ValueError("no episodes to summarise")
    t = np.array([e.action_index if e.success else -1 for e in episodes])
    won = t >= 0
    ranks = np.array([e.rank or 0 for e in episodes])
    gain = np.zeros(n)
    tw, rw = t[won].astype(float), ranks[won].astype(float)
    gain[won] = (1 / np.log2(tw + 3)
                 + (1 / np.log2(tw + 2) - 1 / np.log2(tw + 3)) / np.log2(rw + 1))
    m = protocol.max_turns
    sr = [float(np.mean(won & (t < k))) for k in range(1, m + 1)]
    return {
        **{f"SR@{k}": float(np.mean(won & (t < k))) for k in (5, 10, 15)},
        "AT": float(np.mean(np.where(won, t + 1, m))),
        "hDCG": float(gain.mean()),
        "AT_counting_opening": float(np.mean(np.where(won, t + 2, m))),
        "asks_per_episode": float(np.mean([e.asks for e in episodes])),
        "episodes": n,
        "SR_by_turn": sr,
    }


def rounded(d: dict[str, Any], digits: int = 4) -> dict[str, Any]:
    return {k: (round(v, digits) if isinstance(v, float) else
                [round(x, digits) for x in v] if isinstance(v, list) else v)
            for k, v in d.items()}


def conversation_pairs(catalog: Catalog, split: str = "test", n: int | None = AUTHORS_PAIRS,
                       seed: int = AUTHORS_SEED) -> np.ndarray:
    """(N, 2) dense (user, item) pairs of ``split``, shuffled as the authors' environment does.

    Their code builds the pairs in file order (user by user) and calls ``np.random.shuffle``
    right after ``np.random.seed(seed)``; ``RandomState(seed).shuffle`` is that same draw.
    Targets without any attribute value are left out after the shuffle (the opening states
    one of the target's attributes; every LastFM* item has some, most Last.fm 2K artists none).
    """
    inter = catalog.interactions.split(split)
    pairs = np.stack([inter.users, inter.items], axis=1).astype(np.int64)
    np.random.RandomState(seed).shuffle(pairs)
    pairs = pairs[has_attributes(catalog)[pairs[:, 1]]]
    return pairs if n is None else pairs[:n]


def has_attributes(catalog: Catalog) -> np.ndarray:
    """(I,) True for items with at least one attribute value (a node the graph links them to)."""
    has = np.zeros(catalog.n_items, dtype=bool)
    for a in catalog.attributes.values():
        has |= np.asarray(a.matrix.getnnz(axis=1)).ravel() > 0
    return has


@dataclass
class Run:
    """Episodes of one policy and how long they took."""

    policy: str
    episodes: list[Episode]
    seconds: float
    protocol: Protocol = field(default_factory=Protocol)

    @property
    def episodes_per_s(self) -> float:
        return len(self.episodes) / self.seconds if self.seconds > 0 else float("inf")

    def summary(self) -> dict[str, Any]:
        out = metrics(self.episodes, self.protocol)
        out["episodes_per_s"] = self.episodes_per_s
        out["seconds"] = self.seconds
        return rounded(out)


_JOB: tuple[Policy, UserSimulator, CatalogGraph, np.ndarray, int, Protocol] | None = None


def _play(bounds: tuple[int, int], job: Any = None) -> list[Episode]:
    job = job or _JOB
    if job is None:
        raise RuntimeError("evaluation worker started without a job")
    policy, sim, graph, pairs, seed, protocol = job
    return [run_episode(policy, sim, graph, int(pairs[k, 0]), int(pairs[k, 1]),
                        np.random.default_rng([seed, k]), protocol)
            for k in range(*bounds)]


def evaluate(policy: Policy, simulator: UserSimulator, graph: CatalogGraph, pairs: np.ndarray, *,
             seed: int = 0, protocol: Protocol = Protocol(), workers: int = 1,
             progress: bool | None = None, chunk: int = 64, backend: str = "pool") -> Run:
    """Play one episode per (user, target) pair; episode k draws from ``rng([seed, k])``, so
    results do not depend on ``workers`` or ``backend``. ``backend``: "pool" (processes on
    this machine) or "ray" (tasks on a Ray cluster: the one ``RAY_ADDRESS`` names, else a
    local one started here with ``workers`` CPUs). ``progress=None``: a bar on a terminal."""
    import sys

    from tqdm.auto import tqdm

    global _JOB
    show = sys.stderr.isatty() if progress is None else progress
    bounds = [(a, min(a + chunk, len(pairs))) for a in range(0, len(pairs), chunk)]
    _JOB = (policy, simulator, graph, pairs, seed, protocol)
    t0 = time.perf_counter()
    episodes: list[Episode] = []
    bar = tqdm(total=len(pairs), desc=policy.name, unit="ep", disable=not show, leave=False)
    try:
        if backend == "ray":
            for eps in _ray_chunks(_JOB, bounds, workers):
                episodes += eps
                bar.update(len(eps))
        elif backend != "pool":
            raise ValueError(f"unknown backend '{backend}'; use 'pool' or 'ray'")
        else:
            for eps in forked_chunks(_play, bounds, workers):
                episodes += eps
                bar.update(len(eps))
    finally:
        bar.close()
        _JOB = None
    return Run(policy.name, episodes, time.perf_counter() - t0, protocol)


def forked_chunks(play: Callable[[tuple[int, int]], list[Any]], bounds: list[tuple[int, int]],
                  workers: int, initializer: Callable[[], None] | None = None
                  ) -> Iterator[list[Any]]:
    """``play(b)`` for each chunk, in order: on forked workers when there are several (fork
    shares the job's fitted models and graph without pickling them), else in this process."""
    import multiprocessing as mp

    if workers > 1 and len(bounds) > 1 and "fork" in mp.get_all_start_methods():
        with mp.get_context("fork").Pool(workers, initializer=initializer) as pool:
            yield from pool.imap(play, bounds)
    else:
        for b in bounds:
            yield play(b)


def _ray_chunks(job: Any, bounds: list[tuple[int, int]], workers: int) -> Any:
    """Yield each chunk's episodes, in order, from Ray tasks sharing one copy of ``job``."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("the ray backend needs the 'ray' package: pip install 'ray>=2.9' "
                           "(or use --backend pool)") from None
    import os

    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        ray.init(address=address, num_cpus=None if address else workers,
                 include_dashboard=False, log_to_driver=False, configure_logging=False)
    play = ray.remote(_play)
    ref = ray.put(job)
    futures = [play.remote(b, ref) for b in bounds]
    for f in futures:
        yield ray.get(f)


def plot_sr_curves(summaries: dict[str, dict[str, Any]], path: Path, title: str = "") -> Path:
    """PNG of SR by turn (agent actions) for every policy in ``summaries``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, s in summaries.items():
        sr = s["SR_by_turn"]
        ax.plot(range(1, len(sr) + 1), sr, marker="o", markersize=3,
                label=f"{name} (SR@15 {s['SR@15']:.3f}, AT {s['AT']:.2f})")
    ax.set_xlabel("agent turns (opening statement not counted)")
    ax.set_ylabel("success rate")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def cpr_report(catalog: Catalog, policies: Sequence[str], *, noise: float = 0.0,
               pairs: int | None = AUTHORS_PAIRS, seed: int = AUTHORS_SEED, split: str = "test",
               workers: int = 2, progress: bool | None = None,
               context: Any = None, assumed_noise: float | str = "auto",
               **graph_params: Any) -> dict[str, Any]:
    """Run ``policies`` on the binary-question protocol and return the JSON-able report.

    ``pairs``: how many shuffled (user, item) pairs of ``split`` (None: all); ``seed`` drives
    both the pair shuffle and the per-episode draws; ``graph_params`` go to the graph policy.
    ``assumed_noise``: what the graph policy believes of the answers' flip rate: "auto"
    (estimated from the answers, as in a deployment) or a number; never the simulator's own
    ``noise`` unless a caller passes it on purpose (the oracle baseline).
    """
    import os

    from agent.policies import available_policies, build_context, create_policy
    from agent.simulators import create_simulator
    from recsys.errors import UnknownNameError

    for name in policies:
        if name not in available_policies():
            raise UnknownNameError("policy", name, available_policies())
    t0 = time.perf_counter()
    ctx = context or build_context(catalog)
    setup_s = time.perf_counter() - t0
    chosen = conversation_pairs(catalog, split, pairs, seed)
    sim = create_simulator("noisy" if noise else "rule", ctx.graph, noise=noise)
    summaries: dict[str, dict[str, Any]] = {}
    for name in policies:
        params: dict[str, Any] = {"seed": seed} if name == "random_ask" else {}
        if name == "graph":
            params = {"noise": assumed_noise, **graph_params}
        run = evaluate(create_policy(name, ctx, **params), sim, ctx.graph, chosen, seed=seed,
                       workers=workers, progress=progress)
        summaries[name] = run.summary()
    split_items = catalog.interactions.split(split).items
    return {"dataset": catalog.name, "split": split, "pairs": len(chosen), "seed": seed,
            "pairs_skipped_target_without_attributes":
                int((~has_attributes(catalog)[split_items]).sum()),
            "noise": noise, "assumed_noise": assumed_noise, "simulator": sim.name,
            "machine": {"cores": os.cpu_count(), "workers": workers},
            "setup_seconds": round(setup_s, 2), "policies": summaries}
