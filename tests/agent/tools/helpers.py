"""Light tool contexts over a catalog saved in the test's own SQLite file."""

from __future__ import annotations

from typing import Any

from agent.tools import ToolContext
from recsys.catalog import Catalog
from recsys.settings import Settings

_FITTED: dict[str, Any] = {}  # fingerprint -> fitted models and policy context (read-only)


def _fitted(catalog: Catalog) -> dict[str, Any]:
    """ALS, popularity and the graph policy context, fitted once per test session."""
    if catalog.fingerprint not in _FITTED:
        from agent.policies import build_context
        from recsys.models import create
        from recsys.serving import training_interactions

        data = training_interactions(catalog)
        _FITTED[catalog.fingerprint] = {
            "als": create("als", factors=8, regularization=0.1, iterations=10).fit(
                data, progress=False),
            "popularity": create("popularity").fit(data, progress=False),
            "policy": build_context(catalog),
        }
    return _FITTED[catalog.fingerprint]


def make_context(catalog: Catalog, settings: Settings, *, user: int | None = 0,
                 **kw: Any) -> ToolContext:
    """A context whose catalog is saved in the test database, with light resources."""
    from recsys.db import get_engine
    from recsys.embeddings import HashingEncoder
    from recsys.index import semantic_index
    from recsys.store import save_catalog

    settings.embedding_model = "hashing-64"
    engine = get_engine(settings.database_url)
    save_catalog(engine, catalog)
    fit = _fitted(catalog)
    return ToolContext(catalog=catalog, settings=settings, engine=engine, user=user,
                       recommender=fit["als"], popularity=fit["popularity"],
                       semantic=semantic_index(catalog, settings, encoder=HashingEncoder(64),
                                               progress=False),
                       policy_context=fit["policy"], **kw)

