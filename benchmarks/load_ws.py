"""Load on the chat socket: concurrent WebSocket sessions against ``tastebud serve`` on loopback.

Phase 1, fake LLM (template replies), real tools: ``--sessions`` (100) sessions at once, each
``--turns`` (10) turns of varied messages ("some comedy", "no horror", "why number 2?", ...).
Beside it, the baseline: the same turn scripts called directly on a ``Manager`` in this
process (no server, socket or database), and one session alone through the server, so the
server's overhead shows apart from queueing. Then the mixed run: ``--mixed-sessions`` (20)
sessions whose every turn has a like and a list removal sent over REST while it streams (the
page's buttons), reporting lost writes (acknowledged but missing from the stored state; must
be 0) beside the latencies.

Phase 2, the real local model (llama.cpp in the server process, one generation at a time, so
turns queue): ``--real-sessions`` (10) sessions x ``--real-turns`` (3); per-session latency
and a fairness check (every session completes; no turn waits longer than first come, first
served allows). ``--real-sessions 0`` skips it.

    TASTEBUD_MIRROR=/work/shared/datasets python benchmarks/load_ws.py [--real-sessions 0]

The server prepares the catalog on first run (fetch, import, train, index) in a temporary
data dir unless ``--data-dir`` names one. Progress goes to stderr, one JSON object to stdout.
The client runs in this process, on the same cores as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OPENERS = ["some comedy", "a drama please", "an action movie", "something scary",
           "some 90s sci-fi", "a romantic comedy", "a thriller, no horror", "an animated film"]
FOLLOW_UPS = ["no horror", "why number 2?", "loved the first one", "not number 3",
              "anything else?", "more like number 1", "what genre is number 2?",
              "swap number 4", "something older", "I've seen number 1", "less violent",
              "a comedy instead", "tell me about number 3", "yes please"]
# Untimed, before measuring: loads what a first turn of each kind loads lazily (the text
# encoder for free-text search, the explainer), on the server and in the baseline alike.
WARM_UP = ["some 90s sci-fi", "why number 2?", "not number 3", "what genre is number 1?",
           "loved the first one", "something older"]


def log(msg: str) -> None:
    print(f"[load_ws {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def scripts(sessions: int, turns: int, seed: int) -> list[list[str]]:
    """One message list per session: an opener, then follow-ups (reproducible by seed)."""
    out = []
    for s in range(sessions):
        rng = random.Random(seed * 100_003 + s)
        out.append([rng.choice(OPENERS)] + [rng.choice(FOLLOW_UPS) for _ in range(turns - 1)])
    return out


def stats(values: list[float], digits: int = 3) -> dict[str, float | None]:
    """p50 / p95 / max (nearest rank), None when there is nothing to summarise."""
    if not values:
        return {"p50": None, "p95": None, "max": None}
    v = sorted(values)

    def rank(p: float) -> float:
        return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]

    return {"p50": round(rank(50), digits), "p95": round(rank(95), digits),
            "max": round(v[-1], digits)}


# --------------------------------------------------------------------------- the client


@dataclass
class Turn:
    text: str
    end: str = "none"  # done | error | none (the socket broke first)
    latency_s: float = 0.0  # message sent -> done or error
    first_event_s: float | None = None
    server_ms: float | None = None  # the manager's own time for the turn (done.ms)
    text_events: int = 0
    items: int = 0
    error: str | None = None


@dataclass
class Session:
    index: int
    turns: list[Turn] = field(default_factory=list)
    error: str | None = None  # the socket failed (connect, hello, closed mid-turn)
    session: dict[str, Any] = field(default_factory=dict)  # the server's, from "ready"
    started: float = 0.0
    finished: float = 0.0

    @property
    def done(self) -> int:
        return sum(t.end == "done" for t in self.turns)


def sign_up(http: str, name: str) -> str:
    req = urllib.request.Request(f"{http}/api/users", data=json.dumps({"name": name}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return str(json.load(r)["token"])


async def chat(ws_url: str, token: str, texts: list[str], index: int,
               turn_timeout_s: float) -> Session:
    """One session: hello, then each message in turn, timing each up to done or error."""
    from websockets.asyncio.client import connect

    sess = Session(index, started=time.perf_counter())
    try:
        async with connect(ws_url, open_timeout=120, ping_interval=None,
                           max_size=2**22, close_timeout=5) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token, "session_id": None}))
            ready = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if ready.get("type") != "ready":
                raise RuntimeError(f"no ready: {ready}")
            sess.session = ready["session"]
            for text in texts:
                turn = Turn(text)
                sess.turns.append(turn)
                t0 = time.perf_counter()
                await ws.send(json.dumps({"type": "message", "text": text}))
                while True:
                    ev = json.loads(await asyncio.wait_for(ws.recv(), turn_timeout_s))
                    if turn.first_event_s is None:
                        turn.first_event_s = time.perf_counter() - t0
                    kind = ev.get("type")
                    if kind == "text":
                        turn.text_events += 1
                    elif kind == "items":
                        turn.items = len(ev.get("items", []))
                    elif kind == "done" or (kind == "error" and ev.get("final", True)):
                        turn.latency_s = time.perf_counter() - t0
                        turn.end = kind
                        if kind == "done":
                            turn.server_ms = ev.get("ms")
                        else:
                            turn.error = f"{ev.get('code')}: {ev.get('message')}"
                        break
    except Exception as e:  # a broken socket is a measured error, not a crash of the run
        sess.error = f"{type(e).__name__}: {e}"[:300]
    sess.finished = time.perf_counter()
    return sess


async def _sessions(host: str, tokens: list[str], texts: list[list[str]],
                    turn_timeout_s: float) -> list[Session]:
    ws_url = f"ws://{host}/ws/chat"
    return list(await asyncio.gather(*(chat(ws_url, tok, tx, i, turn_timeout_s)
                                       for i, (tok, tx) in enumerate(zip(tokens, texts,
                                                                         strict=True)))))


def run_load(host: str, sessions: int, turns: int, *, seed: int = 0,
             texts: list[list[str]] | None = None, turn_timeout_s: float = 600.0,
             label: str = "load") -> dict[str, Any]:
    """Sign up ``sessions`` users, then chat in all sessions at once; the summary as JSON.

    Args:
        host: ``host:port`` of a running server.
        texts: each session's messages (default: ``scripts(sessions, turns, seed)``).
    """
    texts = texts or scripts(sessions, turns, seed)
    tokens = [sign_up(f"http://{host}", f"{label}-{i}") for i in range(sessions)]
    log(f"{label}: {sessions} sessions x {turns} turns ...")
    t0 = time.perf_counter()
    done = asyncio.run(_sessions(host, tokens, texts, turn_timeout_s))
    wall = time.perf_counter() - t0
    out = summarize(done, sessions * turns, wall)
    log(f"{label}: {out['completed_turns']}/{out['turns']} turns in {wall:.1f} s, "
        f"{out['errors']} errors, p95 {out['turn_latency_s']['p95']} s")
    out["_sessions"] = done  # for callers that look closer (dropped from the JSON)
    return out


# follow-ups that judge no item: the REST clicks beside them are the only verdicts, so every
# acknowledged click must be in the final state
NEUTRAL = ["anything else?", "something older", "why number 2?", "what genre is number 2?",
           "more like number 1", "tell me about number 3", "a comedy instead"]


def _rest(http: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{http}{path}", data=data, method=method, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")[:200]


@dataclass
class Mixed:
    """One mixed session: its turns, and the REST writes acknowledged while they ran."""

    chat: Session
    liked: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    write_errors: list[str] = field(default_factory=list)
    write_latency_s: list[float] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


async def mixed(host: str, token: str, texts: list[str], index: int,
                turn_timeout_s: float) -> Mixed:
    """Turns on the socket; during each, a like and a removal over REST on its list (the
    page's buttons, pressed while the reply streams); then the stored state is checked."""
    from websockets.asyncio.client import connect

    http, out = f"http://{host}", Mixed(Session(index, started=time.perf_counter()))

    async def write(sid: int, path: str, body: dict[str, Any], what: str, item: str) -> None:
        t0 = time.perf_counter()
        code, got = await asyncio.to_thread(_rest, http, token, "POST",
                                            f"/api/sessions/{sid}/{path}", body)
        out.write_latency_s.append(time.perf_counter() - t0)
        if code != 201:
            out.write_errors.append(f"{path} {code}: {got}")
        else:
            (out.liked if what == "like" else out.removed).append(item)

    try:
        async with connect(f"ws://{host}/ws/chat", open_timeout=120, ping_interval=None,
                           max_size=2**22, close_timeout=5) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token, "session_id": None}))
            ready = json.loads(await asyncio.wait_for(ws.recv(), 120))
            sid, shown = ready["session"]["id"], []
            out.chat.session = ready["session"]
            for text in texts:
                turn = Turn(text)
                out.chat.turns.append(turn)
                t0 = time.perf_counter()
                await ws.send(json.dumps({"type": "message", "text": text}))
                clicks = []
                fresh = [i for i in shown if i not in out.liked and i not in out.removed]
                if len(fresh) >= 2:  # like one, take another off the list, mid-turn
                    clicks.append(asyncio.create_task(write(
                        sid, "feedback", {"item_id": fresh[0], "kind": "like"}, "like",
                        fresh[0])))
                    clicks.append(asyncio.create_task(write(
                        sid, "list-edits", {"shown": shown, "edited": [
                            i for i in shown if i != fresh[1]]}, "remove", fresh[1])))
                    shown = [i for i in shown if i != fresh[1]]  # as the page shows it
                while True:
                    ev = json.loads(await asyncio.wait_for(ws.recv(), turn_timeout_s))
                    if ev.get("type") == "items":
                        shown = [c["id"] for c in ev.get("items", [])]
                    elif ev.get("type") in ("done", "error"):
                        turn.latency_s, turn.end = time.perf_counter() - t0, ev["type"]
                        if ev["type"] == "error":
                            turn.error = f"{ev.get('code')}: {ev.get('message')}"
                        break
                await asyncio.gather(*clicks)
        code, state = await asyncio.to_thread(_rest, http, token, "GET", f"/api/sessions/{sid}")
        if code != 200:
            raise RuntimeError(f"session {sid}: {code} {state}")
        on_screen = {c["id"] for c in state["shown"]}
        out.lost = [f"like {i}" for i in out.liked if i not in state["liked"]]
        out.lost += [f"removal {i}" for i in out.removed
                     if i not in state["disliked"] or i in on_screen]
        stored = [m["text"] for m in state["messages"] if m["role"] == "user"]
        out.lost += [f"turn {t.text!r}" for t in out.chat.turns
                     if t.end == "done" and t.text not in stored]
    except Exception as e:  # a broken socket is a measured error, not a crash of the run
        out.chat.error = f"{type(e).__name__}: {e}"[:300]
    out.chat.finished = time.perf_counter()
    return out


def run_mixed(host: str, sessions: int, turns: int, *, seed: int = 0,
              turn_timeout_s: float = 600.0, label: str = "mixed") -> dict[str, Any]:
    """Chat turns and REST feedback on the same sessions at once; lost writes must be 0."""
    rng = random.Random(seed)
    texts = [[rng.choice(OPENERS), *(rng.choice(NEUTRAL) for _ in range(turns - 1))]
             for _ in range(sessions)]
    tokens = [sign_up(f"http://{host}", f"{label}-{i}") for i in range(sessions)]
    log(f"{label}: {sessions} sessions x {turns} turns, with a like and a removal per turn ...")
    t0 = time.perf_counter()

    async def all_sessions() -> list[Mixed]:
        pairs = enumerate(zip(tokens, texts, strict=True))
        return list(await asyncio.gather(*(mixed(host, tok, tx, i, turn_timeout_s)
                                           for i, (tok, tx) in pairs)))

    done = asyncio.run(all_sessions())
    wall = time.perf_counter() - t0
    out = summarize([m.chat for m in done], sessions * turns, wall)
    writes = [x for m in done for x in m.write_latency_s]
    lost = [x for m in done for x in m.lost]
    out |= {"rest_writes": len(writes),
            "rest_write_errors": sum(len(m.write_errors) for m in done),
            "rest_write_error_samples": [e for m in done for e in m.write_errors][:5],
            "rest_write_latency_s": stats(writes),
            "lost_writes": len(lost), "lost_samples": lost[:5]}
    log(f"{label}: {out['completed_turns']}/{out['turns']} turns, {len(writes)} REST writes, "
        f"{len(lost)} lost")
    return out


def summarize(sessions: list[Session], planned: int, wall: float) -> dict[str, Any]:
    turns = [t for s in sessions for t in s.turns]
    ok = [t for t in turns if t.end == "done"]
    samples = [s.error for s in sessions if s.error] + [t.error for t in turns if t.error]
    return {
        "sessions": len(sessions), "turns": planned, "completed_turns": len(ok),
        "errors": planned - len(ok), "error_samples": samples[:5],
        "sessions_complete": sum(s.done == len(s.turns) and not s.error for s in sessions),
        "turn_latency_s": stats([t.latency_s for t in ok]),
        "first_event_s": stats([t.first_event_s for t in ok if t.first_event_s is not None]),
        "server_turn_ms": stats([t.server_ms for t in ok if t.server_ms is not None], 1),
        "throughput_turns_per_s": round(len(ok) / wall, 2) if wall else None,
        "wall_s": round(wall, 2),
        "with_items": sum(t.items > 0 for t in ok),
    }


def fairness(sessions: list[Session]) -> dict[str, Any]:
    """Per-session latency and whether first come, first served held for every turn.

    A session has one turn out at a time and the server's turn gate is FIFO, so a turn waits
    for at most one turn of each other session: wait <= (sessions - 1) x the longest turn.
    """
    n = len(sessions)
    ok = [t for s in sessions for t in s.turns if t.end == "done" and t.server_ms is not None]
    service = [t.server_ms / 1e3 for t in ok if t.server_ms is not None]
    waits = [max(0.0, t.latency_s - (t.server_ms or 0) / 1e3) for t in ok]
    bound = (n - 1) * max(service, default=0.0) * 1.1 + 1.0
    totals = [s.finished - s.started for s in sessions]
    med_total = stats(totals)["p50"] or 0.0
    med_wait = stats(waits)["p50"] or 0.0
    complete = all(s.done == len(s.turns) and not s.error for s in sessions)
    return {
        "per_session": [{"session": s.index, "total_s": round(s.finished - s.started, 2),
                         "turn_latency_s": [round(t.latency_s, 2) for t in s.turns],
                         "turn_wait_s": [round(max(0.0, t.latency_s - (t.server_ms or 0) / 1e3),
                                               2) for t in s.turns],
                         "completed": s.done, "error": s.error} for s in sessions],
        "all_completed": complete,
        "session_total_s": {"min": round(min(totals, default=0), 2), **stats(totals, 2)},
        "max_over_median_session_total": round(max(totals) / med_total, 2) if med_total
        else None,
        "turn_service_s": stats(service, 2),
        "turn_wait_s": stats(waits, 2),
        "max_over_median_wait": round(max(waits) / med_wait, 2) if med_wait else None,
        "fifo_wait_bound_s": round(bound, 2),
        "waits_within_fifo_bound": all(w <= bound for w in waits),
        "fair": complete and all(w <= bound for w in waits)
        and (not med_total or max(totals) <= 2 * med_total),
    }


# --------------------------------------------------------------------------- the server


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], catalog: str, llm: str | None,
                 timeout_s: float) -> tuple[subprocess.Popen[str], str, float]:
    """Start ``tastebud serve``; wait for "Tastebud is ready"; (process, host, seconds)."""
    port = _free_port()
    cmd = [sys.executable, "-c", "from ui.cli import app; app()", "serve", "--catalog", catalog,
           "--port", str(port), *(["--llm", llm] if llm else [])]
    log(f"starting: tastebud serve --catalog {catalog} --port {port}"
        + (f" --llm {llm}" if llm else ""))
    t0 = time.perf_counter()
    # every simulated user signs up and chats from 127.0.0.1: lift the per-address limits
    env = {"TASTEBUD_SERVER_SIGNUPS_PER_MINUTE": "100000",
           "TASTEBUD_SERVER_MAX_SOCKETS_PER_ADDRESS": "100000", **env}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = threading.Event()

    def relay() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(f"  serve| {line.rstrip()}", file=sys.stderr, flush=True)
            if "Tastebud is ready" in line:
                ready.set()

    threading.Thread(target=relay, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not ready.wait(0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            raise SystemExit(f"tastebud serve did not get ready (exit code {proc.returncode})")
    host = f"127.0.0.1:{port}"
    for _ in range(200):  # "ready" is printed just before uvicorn binds
        try:
            urllib.request.urlopen(f"http://{host}/health", timeout=5).read()
            break
        except OSError:
            time.sleep(0.05)
    return proc, host, time.perf_counter() - t0


def stop_server(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# --------------------------------------------------------------------------- phases


def baseline(catalog: str, texts: list[list[str]]) -> dict[str, Any]:
    """The same turn scripts on a Manager in this process, one after another."""
    from agent.manager import Manager
    from recsys.settings import get_settings

    get_settings.cache_clear()
    manager = Manager.open(catalog, get_settings(), llm=None, progress=False)
    warm = manager.start(None)
    for text in WARM_UP:
        manager.respond(warm, text)
    lat: list[float] = []
    errors = 0
    log(f"baseline: {sum(map(len, texts))} turns directly on the Manager ...")
    t0 = time.perf_counter()
    for script in texts:
        conv = manager.start(None)
        for text in script:
            t = time.perf_counter()
            last = None
            for ev in manager.turn(conv, text):
                last = ev.type
            lat.append(time.perf_counter() - t)
            errors += last != "done"
    wall = time.perf_counter() - t0
    return {"how": "same turn scripts, Manager.turn in this process, one at a time; no server, "
                   "socket or database", "turns": len(lat), "errors": errors,
            "turn_latency_s": stats(lat, 4),
            "throughput_turns_per_s": round(len(lat) / wall, 2), "wall_s": round(wall, 2)}


def phase_fake(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    proc, host, startup = start_server(env, args.catalog, "fake", args.start_timeout)
    try:
        log(f"server ready in {startup:.1f} s")
        run_load(host, 1, len(WARM_UP), texts=[WARM_UP], label="warm-up")
        base = baseline(args.catalog, scripts(args.sessions, args.turns, args.seed))
        single = run_load(host, 1, args.turns, seed=args.seed + 1, label="single")
        load = run_load(host, args.sessions, args.turns, seed=args.seed, label="fake")
        mix = run_mixed(host, args.mixed_sessions, args.turns, seed=args.seed + 3)
    finally:
        stop_server(proc)
    single.pop("_sessions")
    load.pop("_sessions")
    b50, s50 = base["turn_latency_s"]["p50"], single["turn_latency_s"]["p50"]
    return {"llm": "fake (template replies), real tools; server turn slots: 4 (tastebud "
                   "serve without a model)",
            "server_start_s": round(startup, 1), **load,
            "single_session_through_server": {k: single[k] for k in (
                "turns", "errors", "turn_latency_s", "throughput_turns_per_s")},
            "baseline_direct_manager": base,
            "mixed_turns_and_rest_feedback": mix,
            "warm_up": f"one untimed session first, on the server and in the baseline: {WARM_UP}",
            "server_overhead_per_turn_p50_s": round(s50 - b50, 4)
            if s50 is not None and b50 is not None else None}


def phase_real(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    proc, host, startup = start_server(env, args.catalog, args.model, args.start_timeout)
    try:
        log(f"server with the real model ready in {startup:.1f} s; one warm-up turn ...")
        warm = run_load(host, 1, 2, texts=[WARM_UP[:2]], label="warm-up")
        load = run_load(host, args.real_sessions, args.real_turns, seed=args.seed + 2,
                        label="real")
    finally:
        stop_server(proc)
    sessions = load.pop("_sessions")
    warm.pop("_sessions")
    return {"llm": f"{args.model or 'default local model'} (llama.cpp in the server process); "
                   "server turn slots: 1",
            "server_start_s": round(startup, 1),
            "warm_up_turn_s": warm["turn_latency_s"]["max"], **load,
            "fairness": fairness(sessions)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    doc = __doc__ or ""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--catalog", default="movielens-small")
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--mixed-sessions", type=int, default=20,
                    help="sessions of the mixed run (turns and REST clicks at once)")
    ap.add_argument("--real-sessions", type=int, default=10,
                    help="sessions with the real local model (0 skips phase 2)")
    ap.add_argument("--real-turns", type=int, default=3)
    ap.add_argument("--model", default=None,
                    help="phase 2 model for tastebud serve --llm (default: the configured one)")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="TASTEBUD_DATA_DIR for the server (default: a temporary one)")
    ap.add_argument("--start-timeout", type=float, default=1800.0,
                    help="seconds the server may take to prepare and start")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    temp = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="tastebud-load-")) if temp else args.data_dir
    env = {**os.environ, "TASTEBUD_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.setdefault("TASTEBUD_MIRROR", "/work/shared/datasets")
    os.environ.update({k: env[k] for k in ("TASTEBUD_DATA_DIR", "HF_HUB_OFFLINE",
                                           "TASTEBUD_MIRROR")})
    try:
        out: dict[str, Any] = {
            "catalog": args.catalog,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                       f"{platform.python_version()}; client and server on the same cores",
            "fake_llm": phase_fake(args, env)}
        if args.real_sessions > 0:
            out["real_llm"] = phase_real(args, env)
    finally:
        if temp:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
