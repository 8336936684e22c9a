"""Schemathesis against the OpenAPI schema: no request the schema allows (or nearly allows)
makes the server answer 5xx.

In process over ASGI. Each operation is tried with valid data (random ids, then the ids of
the caller's own session, preference and an item, so the handlers' real paths run) and with
invalid data, each time by a fresh user owning a session with feedback, a list edit and a
profile (so ``DELETE /api/me`` cannot sign the others out).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from tests.ui.conftest import sign_up

EXAMPLES = 25  # per operation and pass: ~1,500 requests, well under a minute on 2 cores
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE


def _owner(client: TestClient, n: int) -> tuple[dict[str, str], dict[str, Any]]:
    """A new user's auth header and the ids of their own records."""
    h = sign_up(client, f"user {n}")
    sid = client.post("/api/sessions", json={"title": "mine"}, headers=h).json()["id"]
    client.post(f"/api/sessions/{sid}/feedback", json={"item_id": "1", "kind": "like"},
                headers=h)
    client.post(f"/api/sessions/{sid}/list-edits", json={"shown": ["1", "2"], "edited": ["2"]},
                headers=h)
    pid = client.put("/api/profile", json={"texts": ["no horror"]}, headers=h).json()[0]["id"]
    return h, {"session_id": sid, "preference_id": pid, "item_id": "2"}


def _hypothesis_test(strategy: Any, auth: dict[str, str], statuses: Counter[int]
                     ) -> Callable[[], None]:
    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        r = case.call_and_validate(headers=dict(auth), checks=[not_a_server_error])
        statuses[r.status_code // 100] += 1

    return run  # type: ignore[no-any-return]


@pytest.mark.slow
def test_no_operation_answers_5xx(make_app: Callable[..., FastAPI]) -> None:
    # Schemathesis' own pytest plugin (``schema.parametrize``) does not run under pytest 9
    # yet (it sets ``request.node._nodeid``), so each operation gets a Hypothesis test here.
    api = make_app(signups_per_minute=100_000, turns_per_minute=100_000)
    client = TestClient(api)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    results = list(schema.get_all_operations())
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) == len(results) >= 20  # the schema itself is valid
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for op in operations:
        for mode, own_ids in ((POSITIVE, False), (POSITIVE, True), (NEGATIVE, False)):
            auth, ids = _owner(client, len(statuses))
            path = {k: v for k, v in ids.items() if f"{{{k}}}" in op.path}
            if own_ids and not path:
                continue

            run = _hypothesis_test(op.as_strategy(
                generation_mode=mode, path_parameters=path if own_ids else None), auth, statuses)
            try:
                run()
            except Unsatisfiable:  # no parameters to make invalid: nothing negative to send
                assert mode is NEGATIVE, op.label
            except Exception as e:  # report every operation that failed, not just the first
                failures.append(f"{op.label} ({mode.value}, own ids: {own_ids}): "
                                f"{str(e)[:1500]}")
    assert not failures, "\n\n".join(failures)
    assert statuses[5] == 0 and statuses[2] > 100 and statuses[4] > 100, statuses
