"""ProfileStore on SQLite and PostgreSQL: accounts, sessions, messages, feedback, profiles."""

from __future__ import annotations

import hashlib
from datetime import UTC
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from profiles import store as store_module
from profiles.errors import AuthenticationError, ForbiddenError, InvalidInputError, NotFoundError
from profiles.models import ChatSession, User
from profiles.store import ProfileStore
from recsys.errors import TastebudError

CAT = "movielens-small"


@pytest.fixture
def ann(store: ProfileStore) -> User:
    return store.create_user("Ann")[0]


@pytest.fixture
def bob(store: ProfileStore) -> User:
    return store.create_user("Bob")[0]


def test_sign_up_and_authenticate(store: ProfileStore) -> None:
    user, token = store.create_user("  Ann  ")
    assert user.name == "Ann" and user.created_at.tzinfo == UTC
    assert store.authenticate(token) == user == store.get_user(user.id)
    other, token2 = store.create_user("Ann")  # names need not be unique; tokens are
    assert token2 != token and store.authenticate(token2) == other


def test_token_is_stored_only_as_its_sha256(store: ProfileStore) -> None:
    user, token = store.create_user("Ann")
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM profiles_user")).mappings().one()
    assert token not in [str(v) for v in row.values()]
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()


@pytest.mark.parametrize("token", ["tb_wrong", "", "no-prefix", "tb_" + "x" * 300, None])
def test_bad_token_is_refused(store: ProfileStore, ann: User, token: str) -> None:
    with pytest.raises(AuthenticationError, match="token"):
        store.authenticate(token)


def test_unknown_user_is_a_clear_error(store: ProfileStore) -> None:
    with pytest.raises(NotFoundError, match="no user with id 99; sign up first"):
        store.get_user(99)
    with pytest.raises(NotFoundError, match="no user with id 99"):
        store.create_session(99, CAT)
    with pytest.raises(NotFoundError):
        store.list_sessions(99)
    with pytest.raises(InvalidInputError, match="user_id must be a positive integer"):
        store.get_user("1")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "nul\x00", 5])
def test_bad_names_are_refused(store: ProfileStore, name: object) -> None:
    with pytest.raises(InvalidInputError, match="name"):
        store.create_user(name)  # type: ignore[arg-type]
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM profiles_user")).scalar() == 0


def test_sessions_list_most_recent_first(store: ProfileStore, ann: User, bob: User) -> None:
    a = store.create_session(ann.id, CAT, "first")
    b = store.create_session(ann.id, "lastfm", "second")
    store.create_session(bob.id, CAT)
    assert [s.id for s in store.list_sessions(ann.id)] == [b.id, a.id]
    store.add_message(ann.id, a.id, "user", "hello")  # activity moves a session to the top
    assert [s.id for s in store.list_sessions(ann.id)] == [a.id, b.id]
    assert [s.id for s in store.list_sessions(ann.id, catalog="lastfm")] == [b.id]
    assert [s.id for s in store.list_sessions(ann.id, limit=1)] == [a.id]


def test_another_users_session_is_refused(store: ProfileStore, ann: User, bob: User) -> None:
    sess = store.create_session(ann.id, CAT)
    store.add_message(ann.id, sess.id, "user", "secret wish")
    for call in (lambda: store.get_session(bob.id, sess.id),
                 lambda: store.history(bob.id, sess.id),
                 lambda: store.add_message(bob.id, sess.id, "user", "hi"),
                 lambda: store.add_feedback(bob.id, item_id="1", kind="like", session_id=sess.id),
                 lambda: store.add_list_edit(bob.id, shown=["1"], edited=[], session_id=sess.id),
                 lambda: store.feedback_for(bob.id, session_id=sess.id),
                 lambda: store.rename_session(bob.id, sess.id, "mine"),
                 lambda: store.delete_session(bob.id, sess.id),
                 lambda: store.get_state(bob.id, sess.id),
                 lambda: store.save_state(bob.id, sess.id, {"shown": ["1"]}),
                 lambda: store.record_turn(bob.id, sess.id, user_text="hi", reply_text="",
                                           state={})):
        with pytest.raises(ForbiddenError, match=f"session {sess.id} belongs to another user"):
            call()
    err = ForbiddenError("session", 1, 2)
    assert isinstance(err, PermissionError) and isinstance(err, TastebudError)
    assert [m.text for m in store.history(ann.id, sess.id)] == ["secret wish"]
    assert store.get_state(ann.id, sess.id) is None
    with pytest.raises(NotFoundError, match="no session with id 999"):
        store.get_session(ann.id, 999)
    with pytest.raises(NotFoundError, match="no session with id 999"):
        store.save_state(ann.id, 999, {})


def test_messages_round_trip_in_order(store: ProfileStore, ann: User) -> None:
    sess = store.create_session(ann.id, CAT)
    trace = [{"tool": "filter_items", "args": {"genre": ["Sci-Fi"], "year": [1979, None]},
              "result": {"n": 3, "ok": True, "score": 0.5}}]
    store.add_message(ann.id, sess.id, "user", "something like Alien\nbut less scary")
    store.add_message(ann.id, sess.id, "assistant", "Try these.", tool_trace=trace,
                      items=["1200", "2571"])
    store.add_message(ann.id, sess.id, "assistant", "")  # cards only, no text
    msgs = store.history(ann.id, sess.id)
    assert [m.role for m in msgs] == ["user", "assistant", "assistant"]
    assert msgs[1].tool_trace == trace and msgs[1].items == ["1200", "2571"]
    assert msgs[0].tool_trace == [] and msgs[0].items == []
    assert [m.id for m in store.history(ann.id, sess.id, last=2)] == [m.id for m in msgs[1:]]
    got = store.get_session(ann.id, sess.id)
    assert got.title == "something like Alien"  # the first user message titles the session
    assert got.updated_at == msgs[-1].created_at


def test_long_first_message_gives_a_short_title(store: ProfileStore, ann: User) -> None:
    sess = store.create_session(ann.id, CAT)
    store.add_message(ann.id, sess.id, "user", "word " * 50)
    assert len(store.get_session(ann.id, sess.id).title) <= 60
    titled = store.create_session(ann.id, CAT, "Friday films")
    store.add_message(ann.id, titled.id, "user", "hello")
    assert store.get_session(ann.id, titled.id).title == "Friday films"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"role": "system"}, "role must be one of user, assistant"),
    ({"text": "   "}, "text is empty"),
    ({"tool_trace": [{"x": {1, 2}}]}, "tool_trace is not JSON-able"),
    ({"tool_trace": [{"x": float("nan")}]}, "tool_trace is not JSON-able"),
    ({"tool_trace": ["step"]}, r"tool_trace\[0\] must be a JSON object"),
    ({"items": "1200"}, "items must be a list of item ids"),
    ({"items": ["1", 2]}, r"items\[1\] must be a string"),
])
def test_bad_messages_are_refused(store: ProfileStore, ann: User, kwargs: dict,
                                  match: str) -> None:
    sess = store.create_session(ann.id, CAT)
    args = {"role": "user", "text": "hi"} | kwargs
    with pytest.raises(InvalidInputError, match=match):
        store.add_message(ann.id, sess.id, **args)
    assert store.history(ann.id, sess.id) == []


def test_a_failed_write_leaves_nothing(store: ProfileStore, ann: User,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    sess = store.create_session(ann.id, CAT)

    def boom(text: str) -> str:
        raise RuntimeError("disk on fire")

    # the message row is flushed before the session title is set: the failure must undo it
    monkeypatch.setattr(store_module, "_title_from", boom)
    with pytest.raises(RuntimeError):
        store.add_message(ann.id, sess.id, "user", "hello")
    assert store.history(ann.id, sess.id) == []
    assert store.get_session(ann.id, sess.id).updated_at == sess.updated_at


# what agent.manager.Conversation.to_json() gives: nested dicts, tuples, None, numbers
STATE = {"constraints": {"include": {"genre": ["Sci-Fi"]}, "year_min": 1979, "seeds": ["1"]},
         "shown": ["1200", "2571"], "accepted": [("1200", 0.5)], "pending": None,
         "focus": "1200", "note": "caf\u00e9 \u2603 nul\x00 inside"}
STATE_JSON = {**STATE, "accepted": [["1200", 0.5]]}  # as JSON has it: tuples are lists


def test_state_round_trips_per_session(store: ProfileStore, ann: User) -> None:
    a = store.create_session(ann.id, CAT)
    b = store.create_session(ann.id, CAT, state={"shown": ["7"]})
    assert store.get_state(ann.id, a.id) is None  # none saved yet
    assert store.get_state(ann.id, b.id) == {"shown": ["7"]}
    store.save_state(ann.id, a.id, STATE)
    assert store.get_state(ann.id, a.id) == STATE_JSON
    assert store.get_state(ann.id, b.id) == {"shown": ["7"]}
    store.save_state(ann.id, a.id, {"shown": []})  # replaced, not merged
    assert store.get_state(ann.id, a.id) == {"shown": []}
    # saving a state is not activity: the session keeps its place and its fields
    assert store.get_session(ann.id, a.id) == a
    assert [s.id for s in store.list_sessions(ann.id)] == [b.id, a.id]
    store.delete_session(ann.id, a.id)  # the state goes with its session
    with pytest.raises(NotFoundError):
        store.get_state(ann.id, a.id)


def test_a_saved_state_is_a_copy(store: ProfileStore, ann: User) -> None:
    sess = store.create_session(ann.id, CAT)
    mine = {"shown": ["1"]}
    store.save_state(ann.id, sess.id, mine)
    mine["shown"].append("2")  # a later change by the caller does not leak in
    got = store.get_state(ann.id, sess.id)
    assert got == {"shown": ["1"]}
    assert got is not None
    got["shown"].append("3")
    assert store.get_state(ann.id, sess.id) == {"shown": ["1"]}


@pytest.mark.parametrize(("state", "match"), [
    (["not", "a", "dict"], "state must be a JSON object"),
    (None, "state must be a JSON object"),
    ({"seen": {"1", "2"}}, "state is not JSON-able"),
    ({"score": float("nan")}, "state is not JSON-able"),
    ({(1, 2): "tuple key"}, "state is not JSON-able"),
    ({"big": "x" * 1_000_001}, "at most 1000000"),
])
def test_bad_states_are_refused(store: ProfileStore, ann: User, state: object,
                                match: str) -> None:
    sess = store.create_session(ann.id, CAT)
    store.save_state(ann.id, sess.id, STATE)
    with pytest.raises(InvalidInputError, match=match):
        store.save_state(ann.id, sess.id, state)  # type: ignore[arg-type]
    if state is not None:  # a new session may start without a state
        with pytest.raises(InvalidInputError, match=match):
            store.create_session(ann.id, CAT, state=state)  # type: ignore[arg-type]
    assert store.get_state(ann.id, sess.id) == STATE_JSON
    assert [s.id for s in store.list_sessions(ann.id)] == [sess.id]


def test_record_turn_stores_messages_and_state_together(store: ProfileStore,
                                                        ann: User) -> None:
    sess = store.create_session(ann.id, CAT)
    trace: list[dict[str, Any]] = [{"step": "request", "kind": "recommend"},
                                   {"tool": "filter_items", "ms": 3.5}]
    asked, reply = store.record_turn(ann.id, sess.id, user_text="  something like Alien  ",
                                     reply_text="Try these.", tool_trace=trace,
                                     items=["1200", "2571"], state=STATE)
    assert (asked.role, asked.text, asked.items, asked.tool_trace) == (
        "user", "something like Alien", [], [])
    assert (reply.role, reply.text, reply.items, reply.tool_trace) == (
        "assistant", "Try these.", ["1200", "2571"], trace)
    assert asked.id < reply.id and asked.created_at <= reply.created_at
    assert store.history(ann.id, sess.id) == [asked, reply]
    assert store.get_state(ann.id, sess.id) == STATE_JSON
    got = store.get_session(ann.id, sess.id)
    assert got.title == "something like Alien" and got.updated_at == reply.created_at
    # a second turn: the reply may be cards only; the title stays the first message's
    _, r2 = store.record_turn(ann.id, sess.id, user_text="more", reply_text="", items=["1"],
                              state={"shown": ["1"]})
    assert [m.text for m in store.history(ann.id, sess.id)] == [
        "something like Alien", "Try these.", "more", ""]
    assert store.get_state(ann.id, sess.id) == {"shown": ["1"]}
    assert store.get_session(ann.id, sess.id).title == "something like Alien"
    assert store.get_session(ann.id, sess.id).updated_at == r2.created_at


def test_an_unused_session_is_found_for_reuse(store: ProfileStore, ann: User) -> None:
    assert store.unused_session(ann.id, CAT) is None
    a = store.create_session(ann.id, CAT)
    b = store.create_session(ann.id, CAT)
    assert store.unused_session(ann.id, CAT) == b  # the newest
    store.add_message(ann.id, b.id, "user", "hi")
    assert store.unused_session(ann.id, CAT) == a
    store.add_feedback(ann.id, item_id="1", kind="like", session_id=a.id)
    assert store.unused_session(ann.id, CAT) is None
    assert store.unused_session(ann.id, "other") is None


def test_every_state_change_bumps_the_version(store: ProfileStore, ann: User) -> None:
    sess = store.create_session(ann.id, CAT)
    assert store.read_state(ann.id, sess.id).version == 0
    assert store.save_state(ann.id, sess.id, {"liked": []}) == 1
    got = store.update_state(ann.id, sess.id, lambda st: {"liked": [*st["liked"], "1"]})
    assert (got.state, got.version) == ({"liked": ["1"]}, 2)
    store.add_feedback(ann.id, item_id="2", kind="like", session_id=sess.id,
                       state_change=lambda st: {"liked": [*st["liked"], "2"]})
    store.record_turn(ann.id, sess.id, user_text="hi", reply_text="", state={"liked": ["x"]},
                      based_on=3, rebase=lambda st: {"liked": [*st["liked"], "t"]})
    assert store.read_state(ann.id, sess.id).model_dump() == {"state": {"liked": ["x"]},
                                                              "version": 4}


def test_a_turn_from_an_old_version_is_rebased(store: ProfileStore, ann: User) -> None:
    sess = store.create_session(ann.id, CAT, state={"liked": []})
    base = store.read_state(ann.id, sess.id).version
    store.update_state(ann.id, sess.id, lambda st: {"liked": ["page"]})  # while the turn ran
    store.record_turn(ann.id, sess.id, user_text="hi", reply_text="", state={"liked": ["turn"]},
                      based_on=base, rebase=lambda st: {"liked": [*st["liked"], "turn"]})
    assert store.get_state(ann.id, sess.id) == {"liked": ["page", "turn"]}


def test_concurrent_state_updates_lose_nothing(store: ProfileStore, ann: User) -> None:
    """Sixteen writers, each read-modify-write of the same session: every change is kept."""
    from concurrent.futures import ThreadPoolExecutor

    sess = store.create_session(ann.id, CAT, state={"liked": []})

    def like(k: int) -> None:
        def change(st: dict[str, Any] | None) -> dict[str, Any]:
            assert st is not None
            return {"liked": [*st["liked"], str(k)]}

        store.add_feedback(ann.id, item_id=str(k), kind="like", session_id=sess.id,
                           state_change=change)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(like, range(16)))
    got = store.read_state(ann.id, sess.id)
    assert sorted(got.state["liked"], key=int) == [str(k) for k in range(16)]  # type: ignore[index]
    assert got.version == 16 and len(store.feedback_for(ann.id)) == 16


def test_a_failing_state_change_stores_no_feedback(store: ProfileStore, ann: User) -> None:
    sess = store.create_session(ann.id, CAT, state={"liked": []})

    def broken(st: dict[str, Any] | None) -> dict[str, Any]:
        raise RuntimeError("bug in the change")

    with pytest.raises(RuntimeError):
        store.add_feedback(ann.id, item_id="1", kind="like", session_id=sess.id,
                           state_change=broken)
    assert store.feedback_for(ann.id) == [] and store.read_state(ann.id, sess.id).version == 0


def _unchanged(store: ProfileStore, user: User, sess: ChatSession) -> None:
    """Nothing of a refused or failed turn was written."""
    assert store.history(user.id, sess.id) == []
    assert store.get_state(user.id, sess.id) == {"shown": ["0"]}
    assert store.get_session(user.id, sess.id) == sess  # no title, same updated_at
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM profiles_message")).scalar() == 0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"state": {"x": {1, 2}}}, "state is not JSON-able"),
    ({"state": {"x": float("inf")}}, "state is not JSON-able"),
    ({"state": "{}"}, "state must be a JSON object"),
    ({"user_text": " "}, "user_text is empty"),
    ({"reply_text": None}, "reply_text must be a string"),
    ({"tool_trace": [{"x": object()}]}, "tool_trace is not JSON-able"),
    ({"items": ["1", 2]}, r"items\[1\] must be a string"),
])
def test_a_refused_turn_writes_nothing(store: ProfileStore, ann: User, kwargs: dict,
                                       match: str) -> None:
    sess = store.create_session(ann.id, CAT, state={"shown": ["0"]})
    args = {"user_text": "hi", "reply_text": "Try these.", "items": ["1"],
            "state": {"shown": ["1"]}} | kwargs
    with pytest.raises(InvalidInputError, match=match):
        store.record_turn(ann.id, sess.id, **args)
    _unchanged(store, ann, sess)


def test_a_turn_failing_mid_way_leaves_nothing(store: ProfileStore, ann: User,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    sess = store.create_session(ann.id, CAT, state={"shown": ["0"]})

    class Boom:
        @staticmethod
        def model_validate(row: object) -> object:
            raise RuntimeError("disk on fire")

    # both messages and the state are flushed to the database before this fails
    monkeypatch.setattr(store_module, "Message", Boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.record_turn(ann.id, sess.id, user_text="hi", reply_text="Try these.",
                          items=["1"], state={"shown": ["1"]})
    monkeypatch.undo()
    _unchanged(store, ann, sess)
    asked, reply = store.record_turn(ann.id, sess.id, user_text="hi", reply_text="ok",
                                     state={"shown": ["1"]})  # and the next one works
    assert store.history(ann.id, sess.id) == [asked, reply]


def test_a_turn_failing_in_the_database_leaves_nothing(store: ProfileStore, ann: User,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    sess = store.create_session(ann.id, CAT, state={"shown": ["0"]})
    real = store_module.ProfileStore._append

    def append(s: Any, sess_row: Any, sid: int, role: str, *rest: Any) -> Any:
        if role == "assistant":  # the user's message is already inserted: break the reply's
            role = "system"  # refused by the database (check constraint on role)
        return real(s, sess_row, sid, role, *rest)

    monkeypatch.setattr(store_module.ProfileStore, "_append", staticmethod(append))
    with pytest.raises(IntegrityError):
        store.record_turn(ann.id, sess.id, user_text="hi", reply_text="Try these.",
                          state={"shown": ["1"]})
    monkeypatch.undo()
    _unchanged(store, ann, sess)


def test_feedback_kinds_and_filters(store: ProfileStore, ann: User, bob: User) -> None:
    sess = store.create_session(ann.id, CAT)
    shown = ["1", "2", "3"]
    like = store.add_feedback(ann.id, item_id="1", kind="like", session_id=sess.id, shown=shown)
    rate = store.add_feedback(ann.id, item_id="2", kind="rating", rating=3.5, catalog=CAT)
    crit = store.add_feedback(ann.id, item_id="3", kind="critique", critique="too scary",
                              session_id=sess.id, catalog=CAT)
    store.add_feedback(ann.id, item_id="9", kind="seen", catalog="lastfm")
    store.add_feedback(bob.id, item_id="1", kind="dislike", catalog=CAT)
    assert like.catalog == CAT and like.shown == shown and like.session_id == sess.id
    assert rate.rating == 3.5 and rate.session_id is None and crit.critique == "too scary"
    mine = store.feedback_for(ann.id)
    assert [f.kind for f in mine] == ["like", "rating", "critique", "seen"]
    assert [f.item_id for f in store.feedback_for(ann.id, catalog=CAT)] == ["1", "2", "3"]
    assert [f.id for f in store.feedback_for(ann.id, session_id=sess.id)] == [like.id, crit.id]
    assert [f.kind for f in store.feedback_for(bob.id)] == ["dislike"]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"kind": "love"}, "kind must be one of like, dislike, seen, rating, critique"),
    ({"kind": "rating"}, "needs a rating from 0.5 to 5"),
    ({"kind": "rating", "rating": 0.4}, "rating 0.4 is out of range"),
    ({"kind": "rating", "rating": 5.5}, "rating 5.5 is out of range"),
    ({"kind": "rating", "rating": float("nan")}, "rating must be a number"),
    ({"kind": "rating", "rating": "4"}, "rating must be a number"),
    ({"kind": "like", "rating": 4}, "a rating goes with kind 'rating', not 'like'"),
    ({"kind": "critique"}, "needs the critique text"),
    ({"kind": "critique", "critique": " "}, "critique is empty"),
    ({"kind": "dislike", "critique": "x" * 2001}, "at most 2000"),
    ({"kind": "like", "item_id": ""}, "item_id is empty"),
    ({"kind": "like", "catalog": None}, "give the catalog, or the session_id"),
    ({"kind": "like", "shown": ["x"] * 1001}, "at most 1000"),
])
def test_bad_feedback_is_refused(store: ProfileStore, ann: User, kwargs: dict,
                                 match: str) -> None:
    args = {"item_id": "1", "catalog": CAT} | kwargs
    with pytest.raises(InvalidInputError, match=match):
        store.add_feedback(ann.id, **args)
    assert store.feedback_for(ann.id) == []


def test_rating_bounds_are_inclusive(store: ProfileStore, ann: User) -> None:
    for r in (0.5, 5, 5.0):
        store.add_feedback(ann.id, item_id="1", kind="rating", rating=r, catalog=CAT)
    assert [f.rating for f in store.feedback_for(ann.id)] == [0.5, 5.0, 5.0]


def test_feedback_catalog_must_match_the_session(store: ProfileStore, ann: User) -> None:
    sess = store.create_session(ann.id, CAT)
    with pytest.raises(InvalidInputError, match="is not session .* catalog 'movielens-small'"):
        store.add_feedback(ann.id, item_id="1", kind="like", session_id=sess.id, catalog="x")


def test_list_edits(store: ProfileStore, ann: User) -> None:
    sess = store.create_session(ann.id, CAT)
    e = store.add_list_edit(ann.id, shown=["1", "2", "3"], edited=["3", "1"], session_id=sess.id)
    store.add_list_edit(ann.id, shown=["4"], edited=[], catalog="lastfm")
    assert (e.catalog, e.shown, e.edited) == (CAT, ["1", "2", "3"], ["3", "1"])
    assert [x.catalog for x in store.list_edits_for(ann.id)] == [CAT, "lastfm"]
    assert store.list_edits_for(ann.id, session_id=sess.id) == [e]
    with pytest.raises(InvalidInputError, match="edited must be a list"):
        store.add_list_edit(ann.id, shown=["1"], edited=None, catalog=CAT)  # type: ignore


def test_deleting_a_session_keeps_taste_data(store: ProfileStore, ann: User) -> None:
    sess = store.create_session(ann.id, CAT)
    store.add_message(ann.id, sess.id, "user", "hi")
    store.add_feedback(ann.id, item_id="1", kind="like", session_id=sess.id)
    store.add_list_edit(ann.id, shown=["1"], edited=[], session_id=sess.id)
    store.delete_session(ann.id, sess.id)
    with pytest.raises(NotFoundError):
        store.get_session(ann.id, sess.id)
    with store.engine.connect() as conn:  # messages went with it (foreign key cascade)
        assert conn.execute(text("SELECT count(*) FROM profiles_message")).scalar() == 0
    assert [(f.item_id, f.session_id) for f in store.feedback_for(ann.id)] == [("1", None)]
    assert store.list_edits_for(ann.id)[0].session_id is None


def test_deleting_a_user_deletes_everything_they_own(store: ProfileStore, ann: User,
                                                     bob: User) -> None:
    for u in (ann, bob):
        sess = store.create_session(u.id, CAT)
        store.add_message(u.id, sess.id, "user", "hi")
        store.add_feedback(u.id, item_id="1", kind="like", session_id=sess.id)
        store.add_list_edit(u.id, shown=["1"], edited=[], session_id=sess.id)
        store.add_preference(u.id, "likes jazz")
    store.delete_user(ann.id)
    with pytest.raises(NotFoundError):
        store.get_user(ann.id)
    with store.engine.connect() as conn:
        for table in ("session", "message", "feedback", "list_edit", "preference"):
            assert conn.execute(text(f"SELECT count(*) FROM profiles_{table}")).scalar() == 1
    assert len(store.feedback_for(bob.id)) == 1


def test_rename(store: ProfileStore, ann: User) -> None:
    assert store.rename_user(ann.id, "Annie").name == "Annie"
    sess = store.create_session(ann.id, CAT)
    assert store.rename_session(ann.id, sess.id, "Sci-fi night").title == "Sci-fi night"
    with pytest.raises(InvalidInputError, match="title has 201 characters"):
        store.rename_session(ann.id, sess.id, "x" * 201)


def test_profile_add_update_delete(store: ProfileStore, ann: User, bob: User) -> None:
    p1 = store.add_preference(ann.id, "likes slow-burn sci-fi", source="edit",
                              context="asked for 'like Alien but less scary'")
    p2 = store.add_preference(ann.id, "dislikes gore", source="feedback")
    assert [p.text for p in store.profile(ann.id)] == ["likes slow-burn sci-fi", "dislikes gore"]
    assert p1.context and p1.source == "edit"
    edited = store.update_preference(ann.id, p1.id, "likes slow, quiet sci-fi")
    assert (edited.source, edited.created_at) == ("user", p1.created_at)
    assert edited.updated_at >= p1.updated_at
    store.delete_preference(ann.id, p2.id)
    assert [p.id for p in store.profile(ann.id)] == [p1.id]
    with pytest.raises(ForbiddenError, match=f"preference {p1.id} belongs to another user"):
        store.update_preference(bob.id, p1.id, "mine now")
    with pytest.raises(ForbiddenError):
        store.delete_preference(bob.id, p1.id)
    with pytest.raises(NotFoundError, match=f"no preference with id {p2.id}"):
        store.delete_preference(ann.id, p2.id)
    with pytest.raises(InvalidInputError, match="source must be one of edit, feedback, user"):
        store.add_preference(ann.id, "x", source="model")
    with pytest.raises(InvalidInputError, match="text has 501 characters"):
        store.add_preference(ann.id, "x" * 501)
    assert store.profile(bob.id) == []


def test_set_profile_keeps_unchanged_statements(store: ProfileStore, ann: User) -> None:
    kept = store.add_preference(ann.id, "dislikes gore", source="feedback")
    store.add_preference(ann.id, "likes musicals", source="edit")
    store.add_preference(ann.id, "dislikes gore", source="edit")  # a duplicate goes too
    out = store.set_profile(ann.id, [" dislikes gore ", "likes jazz", "likes jazz"])
    assert [(p.text, p.source) for p in out] == [("dislikes gore", "feedback"),
                                                 ("likes jazz", "user")]
    assert out[0] == kept and store.profile(ann.id) == out
    with pytest.raises(InvalidInputError, match=r"texts\[1\] is empty"):
        store.set_profile(ann.id, ["ok", ""])
    assert store.profile(ann.id) == out  # nothing changed
    assert store.set_profile(ann.id, []) == []


def test_values_are_frozen_and_carry_no_token_hash(store: ProfileStore, ann: User) -> None:
    assert "token_hash" not in ann.model_dump()
    with pytest.raises(ValueError):
        ann.name = "Eve"  # type: ignore[misc]
