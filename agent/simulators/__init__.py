"""User simulators by name: ``create_simulator("noisy", graph, noise=0.2)``."""

from __future__ import annotations

from typing import Any

from agent.simulators.base import UserSimulator
from agent.simulators.rule import NoisyRuleSimulator, RuleSimulator
from recsys.errors import UnknownNameError
from recsys.graph import CatalogGraph

_REGISTRY: dict[str, type[UserSimulator]] = {
    cls.name: cls for cls in (RuleSimulator, NoisyRuleSimulator)
}


def available_simulators() -> list[str]:
    """Names of every registered simulator."""
    return list(_REGISTRY)


def create_simulator(name: str, graph: CatalogGraph, **params: Any) -> UserSimulator:
    """A simulator over ``graph``; ``params`` go to its constructor."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("simulator", name, available_simulators()) from None
    return cls(graph, **params)  # type: ignore[call-arg]


__all__ = ["UserSimulator", "available_simulators", "create_simulator"]
