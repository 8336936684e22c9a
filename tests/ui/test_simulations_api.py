"""Simulated dialogues stored as sessions: listed and replayed read-only through the API."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.ui.conftest import sign_up


def dialogue(catalog: Any) -> dict[str, Any]:
    """A two-turn simulated dialogue over the app's catalog (``Dialogue.to_json`` shape)."""
    ids = catalog.item_ids
    return {"user": catalog.user_ids[0], "target": ids[3], "target_title": catalog.titles[3],
            "success": True, "accepted": ids[3], "leaked_title": False, "ungrounded": [],
            "turns": [
                {"user": "I'd like a comedy", "assistant": "Here are some comedies.",
                 "items": [ids[1], ids[3]], "trace": [], "seconds": 0.01},
                {"user": "I'll take number 2", "assistant": None, "items": [], "trace": []}]}


def stored(app: FastAPI) -> int:
    from profiles.simulations import store_dialogues

    manager = app.state.manager
    return store_dialogues(app.state.services.store, manager.catalog.name,
                           [dialogue(manager.catalog)], {"simulator": "choice_model"})[0]


def test_simulated_sessions_are_listed_and_replayed_read_only(make_app) -> None:
    app = make_app()
    client = TestClient(app)
    h = sign_up(client)
    assert client.get("/api/simulations", headers=h).json() == []  # none stored yet
    sid = stored(app)
    listed = client.get("/api/simulations", headers=h).json()
    assert [s["id"] for s in listed] == [sid] and listed[0]["title"].startswith("Simulated:")
    r = client.get(f"/api/simulations/{sid}", headers=h).json()
    assert r["read_only"] is True and r["simulated"]["success"] is True
    assert r["simulated"]["simulator"] == "choice_model"
    assert [m["role"] for m in r["messages"]] == ["user", "assistant", "user"]
    cat = app.state.manager.catalog
    assert [c["id"] for c in r["messages"][1]["cards"]] == [cat.item_ids[1], cat.item_ids[3]]
    # not among anyone's own sessions, and nobody can write to it
    assert client.get("/api/sessions", headers=h).json() == []
    assert client.get(f"/api/sessions/{sid}", headers=h).status_code == 404
    r = client.post(f"/api/sessions/{sid}/feedback", json={"item_id": cat.item_ids[1],
                                                           "kind": "like"}, headers=h)
    assert r.status_code == 404
    assert client.get("/api/simulations").status_code == 401  # signed-in users only


def test_a_person_s_session_is_not_a_simulation(make_app) -> None:
    client = TestClient(make_app())
    h = sign_up(client)
    sid = client.post("/api/sessions", json={}, headers=h).json()["id"]
    assert client.get(f"/api/simulations/{sid}", headers=h).status_code == 404
    assert client.get("/api/simulations/999", headers=h).status_code == 404
