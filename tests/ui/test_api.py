"""The REST API as the page uses it: sign-up, auth, sessions, feedback, list edits, profile."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.ui.conftest import sign_up


def test_health_docs_and_page(client: TestClient, make_app: Callable[..., FastAPI]) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/docs").status_code == 404  # Swagger UI loads from a CDN: off by default
    assert TestClient(make_app(api_docs=True)).get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/api/sessions/{session_id}/feedback" in schema["paths"]
    assert client.get("/").status_code == 200


def test_sign_up_and_me(client: TestClient) -> None:
    r = client.post("/api/users", json={"name": "ada"})
    assert r.status_code == 201
    token = r.json()["token"]
    assert token.startswith("tb_")
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == "ada" and "token" not in me.json()
    r = client.patch("/api/me", json={"name": "Ada L."},
                     headers={"Authorization": f"Bearer {token}"})
    assert r.json()["name"] == "Ada L."


def test_auth_is_required(client: TestClient) -> None:
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/sessions").status_code == 401
    r = client.get("/api/me", headers={"Authorization": "Bearer tb_nope"})
    assert r.status_code == 401 and "sign up again" in r.json()["detail"]
    r = client.get("/api/me", headers={"Authorization": "Bearer x" * 300})
    assert r.status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_bad_input_is_4xx(client: TestClient) -> None:
    h = sign_up(client)
    assert client.post("/api/users", json={"name": ""}).status_code == 422
    assert client.post("/api/users", json={"name": "x" * 101}).status_code == 422
    assert client.post("/api/users", content=b"{not json",
                       headers={"Content-Type": "application/json"}).status_code == 422
    assert client.post("/api/sessions", json={"catalog": "nope"}, headers=h).status_code == 404
    assert client.post("/api/sessions", json={"catalog_user": "nobody"},
                       headers=h).status_code == 404
    sid = client.post("/api/sessions", json={}, headers=h).json()["id"]
    bad = [{"item_id": "1", "kind": "love"}, {"item_id": "", "kind": "like"},
           {"item_id": "1", "kind": "rating", "rating": 9},
           {"item_id": "1", "kind": "like", "shown": ["1"] * 101},
           {"item_id": "1", "kind": "like", "extra": 1}]
    for body in bad:
        r = client.post(f"/api/sessions/{sid}/feedback", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
    r = client.post(f"/api/sessions/{sid}/feedback", json={"item_id": "no-such", "kind": "like"},
                    headers=h)
    assert r.status_code == 404 and "no item" in r.json()["detail"]
    assert client.post(f"/api/sessions/{sid}/feedback", json={"item_id": "1", "kind": "rating"},
                       headers=h).status_code == 422  # a rating needs its number
    assert client.get("/api/sessions/0", headers=h).status_code == 422
    assert client.get(f"/api/sessions/{2**70}", headers=h).status_code == 422
    assert client.get("/api/items", params={"q": ""}).status_code == 422
    assert client.get("/api/items/nope").status_code == 404


def test_another_users_session_is_not_found(client: TestClient) -> None:
    ada, bob = sign_up(client, "ada"), sign_up(client, "bob")
    sid = client.post("/api/sessions", json={"title": "mine"}, headers=ada).json()["id"]
    paths = [f"/api/sessions/{sid}", f"/api/sessions/{sid}/feedback",
             f"/api/sessions/{sid}/list-edits", f"/api/sessions/{sid}/why/1"]
    for p in paths:
        r = client.get(p, headers=bob)
        assert r.status_code == 404 and "mine" not in r.text, p
    assert client.post(f"/api/sessions/{sid}/feedback", json={"item_id": "1", "kind": "like"},
                       headers=bob).status_code == 404
    assert client.patch(f"/api/sessions/{sid}", json={"title": "x"},
                        headers=bob).status_code == 404
    assert client.delete(f"/api/sessions/{sid}", headers=bob).status_code == 404
    assert client.get("/api/sessions", headers=bob).json() == []
    assert client.get(f"/api/sessions/{sid}", headers=ada).status_code == 200


def test_catalogs_and_items(client: TestClient) -> None:
    (cat,) = client.get("/api/catalogs").json()
    assert cat["name"] == "movies" and cat["default"] and cat["items"] == 60
    assert cat["item_word"] == "items" and cat["example"] == ""  # a catalog saved without a spec
    # anyone may search a loaded catalog; loading one needs a signed-in user (test_limits)
    client.get("/api/items", params={"q": "crimson"}, headers=sign_up(client, "bo"))
    hits = client.get("/api/items", params={"q": "crimson"}).json()
    assert len(hits) == 10 and all("Crimson" in h["title"] for h in hits[:6])  # titles first
    assert len(client.get("/api/items", params={"q": "crimson", "limit": 3}).json()) == 3
    item = client.get(f"/api/items/{hits[0]['id']}").json()
    assert item["title"] == hits[0]["title"] and "attributes" in item


def test_feedback_list_edits_and_profile_persist(client: TestClient) -> None:
    h = sign_up(client)
    sid = client.post("/api/sessions", json={}, headers=h).json()["id"]
    r = client.post(f"/api/sessions/{sid}/feedback", json={"item_id": "3", "kind": "like"},
                    headers=h)
    assert r.status_code == 201 and r.json()["catalog"] == "movies"
    client.post(f"/api/sessions/{sid}/feedback",
                json={"item_id": "4", "kind": "critique", "critique": "too slow"}, headers=h)
    kinds = [f["kind"] for f in client.get(f"/api/sessions/{sid}/feedback", headers=h).json()]
    assert kinds == ["like", "critique"]
    r = client.post(f"/api/sessions/{sid}/list-edits",
                    json={"shown": ["1", "2", "5"], "edited": ["5", "1"]}, headers=h)
    assert r.status_code == 201
    s = client.get(f"/api/sessions/{sid}", headers=h).json()
    assert [c["id"] for c in s["shown"]] == ["5", "1"]
    assert s["liked"] == ["3"] and "2" in s["disliked"]
    why = client.get(f"/api/sessions/{sid}/why/5", headers=h)
    assert why.status_code == 200 and "paths" in why.json()
    r = client.put("/api/profile", json={"texts": ["no horror", "loves 90s comedies"]},
                   headers=h)
    assert [p["text"] for p in r.json()] == ["no horror", "loves 90s comedies"]
    pid = r.json()[0]["id"]
    client.patch(f"/api/profile/preferences/{pid}", json={"text": "no gore"}, headers=h)
    assert client.get("/api/profile", headers=h).json()[0]["text"] == "no gore"
    bob = sign_up(client, "bob")
    assert client.patch(f"/api/profile/preferences/{pid}", json={"text": "x"},
                        headers=bob).status_code == 404


def test_earlier_sessions_shape_a_new_one(client: TestClient) -> None:
    """Likes, dislikes and "seen" from one session carry into the next (REST and socket)."""
    from tests.ui.test_chat_socket import hello, turn

    h = sign_up(client)
    first = client.post("/api/sessions", json={}, headers=h).json()["id"]
    for item, kind in (("3", "like"), ("7", "dislike"), ("9", "seen"), ("7", "seen")):
        r = client.post(f"/api/sessions/{first}/feedback", json={"item_id": item, "kind": kind},
                        headers=h)
        assert r.status_code == 201
    r = client.post(f"/api/sessions/{first}/list-edits",
                    json={"shown": ["11", "12"], "edited": ["12"]}, headers=h)
    assert r.status_code == 201  # 11 removed from a list: turned down from now on
    second = client.post("/api/sessions", json={}, headers=h).json()["id"]
    s = client.get(f"/api/sessions/{second}", headers=h).json()
    assert s["liked"] == ["3"] and s["disliked"] == ["11"] and sorted(s["seen"]) == ["7", "9"]
    with client.websocket_connect("/ws/chat") as ws:
        hello(ws, h)  # a session the socket starts remembers too
        items = next(e for e in turn(ws, "some drama") if e["type"] == "items")["items"]
    assert not {"3", "7", "9", "11"} & {c["id"] for c in items}
    other = sign_up(client, "bob")  # nobody else's feedback leaks in
    sid = client.post("/api/sessions", json={}, headers=other).json()["id"]
    assert client.get(f"/api/sessions/{sid}", headers=other).json()["liked"] == []


def test_a_catalogs_credits_reach_the_page() -> None:
    """Whom the items' texts come from, as the spec says, with the catalog's words: the page
    shows it under the list (the attribution the sources' licences ask for)."""
    import json

    from recsys.spec import load_spec
    from tests.conftest import REPO
    from ui.server.services import _words

    spec = {"credits": "Plots: Wikipedia (CC BY-SA 4.0)", "words": {"items": "films"}}
    assert _words(json.dumps(spec)) == {"item_word": "films", "example": "",
                                        "credits": "Plots: Wikipedia (CC BY-SA 4.0)"}
    demo = load_spec(REPO / "data" / "catalogs" / "movielens-small.toml")
    assert "CC BY-SA" in demo.credits and "not endorsed or certified by TMDb" in demo.credits
