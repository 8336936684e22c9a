"""Dialogue policies by name: ``create_policy("graph", context, noise=0.1)``."""

from __future__ import annotations

from typing import Any

from agent.policies.baselines import (
    AuthorsEnv,
    MaxEntropy,
    PopularityOnly,
    RandomAsk,
    RecommendOnly,
)
from agent.policies.context import PolicyContext, build_context
from agent.policies.graph import GraphPolicy, GraphPolicyConfig
from agent.policy import Policy
from recsys.errors import UnknownNameError

_REGISTRY: dict[str, type[Policy]] = {
    cls.name: cls for cls in (GraphPolicy, RecommendOnly, PopularityOnly, MaxEntropy, RandomAsk,
                                AuthorsEnv)
}


def available_policies() -> list[str]:
    """Names of every registered policy."""
    return list(_REGISTRY)


def create_policy(name: str, context: PolicyContext, **params: Any) -> Policy:
    """A policy over ``context``; ``params`` go to its constructor (e.g. ``noise`` for graph)."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("policy", name, available_policies()) from None
    return cls(context, **params)  # type: ignore[call-arg]


__all__ = ["GraphPolicy", "GraphPolicyConfig", "PolicyContext", "available_policies",
           "build_context", "create_policy"]
