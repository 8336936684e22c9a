"""Many chat sessions at once through a real uvicorn on loopback (the load benchmark, small)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI

from benchmarks.load_ws import run_load
from tests.ui.live import serve_in_thread


@pytest.mark.slow
def test_twenty_concurrent_sessions_of_five_turns_all_finish(
        make_app: Callable[..., FastAPI]) -> None:
    app = make_app(turn_slots=4, signups_per_minute=10_000)
    with serve_in_thread(app) as host:
        out = run_load(host, sessions=20, turns=5, seed=3, turn_timeout_s=60)
    sessions = out.pop("_sessions")
    assert out["errors"] == 0, out["error_samples"]
    assert out["completed_turns"] == out["turns"] == 100
    assert out["sessions_complete"] == 20
    for s in sessions:
        assert [t.end for t in s.turns] == ["done"] * 5, (s.index, s.error)
        assert all(t.text_events > 0 for t in s.turns)  # every reply streamed some text
    assert out["with_items"] >= 20  # every opener is a request that shows a list
    assert out["turn_latency_s"]["p95"] is not None
    # every turn was stored: the message and the reply, in each user's own session
    store = app.state.services.store
    for s in sessions:
        msgs = store.history(s.session["user_id"], s.session["id"])
        assert [m.role for m in msgs] == ["user", "assistant"] * 5
        assert [m.text for m in msgs[::2]] == [t.text for t in s.turns]


@pytest.mark.slow
def test_mixed_turns_and_rest_clicks_lose_no_write(make_app: Callable[..., FastAPI]) -> None:
    from benchmarks.load_ws import run_mixed

    app = make_app(turn_slots=4, signups_per_minute=10_000)
    with serve_in_thread(app) as host:
        out = run_mixed(host, sessions=8, turns=4, seed=1, turn_timeout_s=60)
    assert out["errors"] == 0, out["error_samples"]
    assert out["rest_write_errors"] == 0, out["rest_write_error_samples"]
    assert out["rest_writes"] >= 8 * 2  # at least one like and one removal per session
    assert out["lost_writes"] == 0, out["lost_samples"]
