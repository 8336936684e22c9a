"""Recommender models by name: ``create("als", factors=64)``, ``available()``."""

from __future__ import annotations

from typing import Any

from recsys.errors import UnknownNameError
from recsys.models.base import Recommender
from recsys.models.itemknn import ItemKNNRecommender
from recsys.models.mf import ALSRecommender, BPRRecommender
from recsys.models.popularity import PopularityRecommender

_REGISTRY: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (PopularityRecommender, ItemKNNRecommender, ALSRecommender, BPRRecommender)
}


def available() -> list[str]:
    """Names of every registered model."""
    return list(_REGISTRY)


def create(name: str, **params: Any) -> Recommender:
    """A new, unfitted model; ``params`` go to its constructor."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("model", name, available()) from None
    return cls(**params)


__all__ = ["Recommender", "available", "create"]
