"""The candidate bus carried from tool to tool within a turn, and what every tool may use.

InteRecAgent style: ``filter_items`` narrows the bus with hard conditions, ``search_items``
ranks inside it by meaning, ``rank_items`` orders what is left for the user. ``None`` means
"the whole catalog", so the first tool of a turn does not have to materialise every item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from recsys.catalog import Catalog
from recsys.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from agent.policies.context import PolicyContext
    from agent.state import DialogueState
    from recsys.graph import CatalogGraph
    from recsys.index import SemanticIndex
    from recsys.models import Recommender
    from recsys.session import SessionRanker


@dataclass(frozen=True)
class BusStep:
    """One tool call of this turn: what it was asked, how much it returned, how long it took."""

    tool: str
    args: dict[str, Any]
    size: int  # items in the result (1 for a single-object result)
    bus_size: int | None  # candidates on the bus after the call; None = whole catalog
    ms: float
    error: str | None = None


CHECK_CHUNK = 1_000  # ids per check: a list this short drives the SQL (recsys.filters)


@dataclass(frozen=True)
class Deferred:
    """A hard filter too broad to list ("anything after 2000" passes a third of a 1M-item
    catalog: listing it through SQL would cost a second). The tool that ranks the whole
    catalog next checks its best items against it instead, in SQL, fetching more until
    enough pass: the same result as listing first, at the cost of a short list."""

    check: Callable[[np.ndarray], np.ndarray]  # ids -> the ones that pass (any order)
    at_least: int  # items known to pass (the probe stopped counting there)
    # sorted ids holding every item that passes (those carrying a wished value), or None:
    # ranking only these finds passing items sooner when the ranking is not about the wish
    # (a known user's taste puts 96 of 100 non-action films first for "some action")
    within: np.ndarray | None = None

    def best(self, n: int, ranked: Callable[[int], tuple[np.ndarray, np.ndarray]]
             ) -> tuple[np.ndarray, np.ndarray]:
        """The first ``n`` items of ``ranked(k)`` (ids, scores; best first; fewer than k
        when the ranking runs out) that pass. The ranking is asked once for a long list and
        checked a window at a time, the window widening eightfold until enough pass; it is
        asked again, longer, only when the list is used up."""
        k = max(8 * n, 256)
        fetched = -1
        ids = scores = np.empty(0)
        passed: set[int] = set()
        checked = 0
        while True:
            if k > len(ids) and len(ids) == fetched or fetched < 0:
                fetched = max(16 * k, 4096)
                ids, scores = ranked(fetched)
                ids = np.asarray(ids, np.int64)
            for s in range(checked, min(k, len(ids)), CHECK_CHUNK):  # short lists: quick probes
                chunk = ids[s:min(s + CHECK_CHUNK, k, len(ids))]
                passed.update(np.asarray(self.check(chunk), np.int64).tolist())
                checked = s + len(chunk)
            window = ids[:checked]
            ok = np.fromiter((i in passed for i in window.tolist()), bool, len(window))
            if ok.sum() >= n or (checked >= len(ids) and len(ids) < fetched):
                return window[ok][:n], np.asarray(scores)[:checked][ok][:n]
            k *= 8


@dataclass
class CandidateBus:
    """Candidate items (dense indices, in the order the last tool ranked them) and a log."""

    items: np.ndarray | None = None  # None = every item of the catalog
    log: list[BusStep] = field(default_factory=list)
    # a filter too broad to list, checked by the next tool that ranks the whole catalog;
    # only while ``items`` is None (a tool that sets items from it has applied it)
    deferred: Deferred | None = None

    @property
    def size(self) -> int | None:
        return None if self.items is None else len(self.items)

    def set(self, items: Sequence[int] | np.ndarray) -> None:
        """Replace the candidates (duplicates dropped, first occurrence kept)."""
        arr = np.asarray(items, dtype=np.int64).reshape(-1)
        _, first = np.unique(arr, return_index=True)
        self.items = arr[np.sort(first)].astype(np.int32)
        self.deferred = None

    def sorted_items(self) -> np.ndarray | None:
        """The candidates in index order (what SQL filters and policies expect), or None."""
        return None if self.items is None else np.unique(self.items).astype(np.int32)

    def record(self, tool: str, args: Any, size: int, ms: float, *,
               error: str | None = None) -> None:
        safe = dict(args) if isinstance(args, dict) else {"raw": str(args)}
        self.log.append(BusStep(tool, safe, int(size), self.size, round(float(ms), 3), error))

    def new_turn(self) -> None:
        """Forget the candidates and the log: each turn starts from the whole catalog."""
        self.items = None
        self.deferred = None
        self.log = []

    def summary(self) -> list[dict[str, Any]]:
        """The log as JSON-able dicts (for traces and the UI)."""
        return [{"tool": s.tool, "args": s.args, "size": s.size, "bus_size": s.bus_size,
                 "ms": s.ms, **({"error": s.error} if s.error else {})} for s in self.log]


@dataclass
class ToolContext:
    """What tools read: catalog, settings, database, user, dialogue state, and the bus.

    Heavy resources load on first use; tests pass light ones in (a freshly fitted model,
    ``settings.embedding_model = "hashing-64"``, a prebuilt policy context).
    """

    catalog: Catalog
    settings: Settings
    engine: Engine | None = None
    user: int | None = None  # dense user index; None for a new user
    state: DialogueState | None = None  # items shown / turned down, accepted attributes
    bus: CandidateBus = field(default_factory=CandidateBus)
    recommender: Recommender | None = None  # personalised model (default: trained "als")
    popularity: Recommender | None = None  # fallback for users without history
    semantic: SemanticIndex | None = None
    policy_context: PolicyContext | None = None
    model_name: str = "als"
    liked: tuple[int, ...] = ()  # items liked in this conversation (dense), for new users
    # signed seeds of the whole conversation (item -> weight: mentioned/liked > 0, pushed
    # away < 0) and item masks of soft wishes; rank_items orders by them through ``session``
    seeds: dict[int, float] = field(default_factory=dict)
    boosts: tuple[np.ndarray, ...] = ()
    request: tuple[int, ...] = ()  # what the standing request is "like" (dense indices)
    session: SessionRanker | None = None
    # the person's remembered preferences: context words -> recalled ones (JSON dicts with a
    # "rule"); set per turn by whoever knows the person (the web server), None otherwise
    recall: Callable[[str], list[dict[str, Any]]] | None = None

    def db(self) -> Engine:
        if self.engine is None:
            from recsys.db import get_engine

            self.engine = get_engine(self.settings.database_url)
        return self.engine

    def model(self) -> Recommender:
        if self.recommender is None:
            from recsys.serving import load_recommender

            self.recommender = load_recommender(self.catalog, self.settings, self.model_name)
        return self.recommender

    def popular(self) -> Recommender:
        if self.popularity is None:
            from recsys.serving import load_recommender

            self.popularity = load_recommender(self.catalog, self.settings, "popularity")
        return self.popularity

    def semantic_index(self) -> SemanticIndex:
        if self.semantic is None:
            from recsys.index import semantic_index

            self.semantic = semantic_index(self.catalog, self.settings, progress=False)
        return self.semantic

    def policy(self) -> PolicyContext:
        if self.policy_context is None:
            from agent.policies import build_context

            self.policy_context = build_context(self.catalog)
        return self.policy_context

    def session_ranker(self) -> SessionRanker:
        if self.session is None:
            from recsys.serving import load_session_ranker

            self.session = load_session_ranker(self.catalog, self.settings)
        return self.session

    def warm(self) -> ToolContext:
        """Load every resource now (a server does this at start, not in the first turn)."""
        self.model(), self.popular(), self.semantic_index(), self.policy()
        self.session_ranker()
        self.semantic_index().encoder.encode(["warm up"], progress=False)  # query encoder now
        from agent.tools import available_tools
        from agent.tools.items import title_indexes

        available_tools()  # the tools and their argument schemas
        title_indexes(self.catalog)
        _ = self.catalog.item_index  # a dict of every id: 1.6 s at 1M items
        return self

    def graph(self) -> CatalogGraph:
        return self.policy().graph

    def shown_or_rejected(self) -> np.ndarray:
        """Items already shown or turned down in this conversation (never ranked again)."""
        if self.state is None:
            return np.empty(0, np.int64)
        return np.unique(np.array([*self.state.recommended, *self.state.rejected_items],
                                  dtype=np.int64))
