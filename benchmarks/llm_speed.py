"""LLM speed on this machine: load time, decode tokens/s, JSON-extraction latency.

For each local model the same extraction prompts run in process (``LlamaCppChatModel``) and,
as the baseline, through ``OpenAIChatModel`` over HTTP to the loopback OpenAI-compatible server
that the same loaded llama.cpp instance exposes (so the difference is the HTTP/JSON overhead).

    .venv/bin/python benchmarks/llm_speed.py [--models qwen2.5-coder-0.5b smollm2-135m]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import Any

from agent.llm import ChatModel, LLMResponseError, Message
from agent.llm.llamacpp import LlamaCppChatModel
from agent.llm.openai_compat import OpenAIChatModel

SCHEMA = {
    # Small enough that the JSON fits in ~20 tokens even with the model's indentation.
    "type": "object", "additionalProperties": False, "required": ["genre", "mood"],
    "properties": {
        "genre": {"type": "string", "enum": ["action", "comedy", "drama", "horror", "sci-fi"]},
        "mood": {"type": "string", "enum": ["light", "dark", "any"]},
    },
}
PROMPTS = [
    "something like Alien but less scary", "a funny movie for tonight", "dark sci-fi please",
    "an action film with car chases", "a sad drama about family", "light comedy, nothing gory",
    "horror but not too bloody", "a space adventure with some jokes", "a gritty crime drama",
    "anything upbeat", "a scary movie about ghosts", "a thoughtful sci-fi drama",
]
SYSTEM = "Extract the user's movie request as JSON."


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def extract_once(model: ChatModel, prompt: str, max_tokens: int) -> tuple[float, bool]:
    """Seconds of one schema-constrained extraction, and whether its JSON was complete."""
    start = time.perf_counter()
    try:
        model.generate([Message.system(SYSTEM), Message.user(prompt)], schema=SCHEMA,
                       max_tokens=max_tokens, temperature=0)
        ok = True
    except LLMResponseError:  # cut off at max_tokens: counted, not fatal
        ok = False
    return time.perf_counter() - start, ok


def summary(runs: list[tuple[float, bool]]) -> dict[str, Any]:
    seconds = [s for s, _ in runs]
    return {"n": len(runs), "p50_s": round(statistics.median(seconds), 3),
            "p95_s": round(percentile(seconds, 0.95), 3),
            "schema_valid": sum(ok for _, ok in runs)}


def decode_speed(model: ChatModel, max_tokens: int) -> dict[str, Any]:
    result = model.generate([Message.user("Write a short paragraph about films.")],
                            max_tokens=max_tokens, temperature=0)
    u = result.usage
    return {"completion_tokens": u.completion_tokens, "seconds": round(u.seconds, 3),
            "tokens_per_s": round(u.completion_tokens / u.seconds, 1) if u.seconds else None}


def bench(name: str, args: argparse.Namespace) -> dict[str, Any]:
    start = time.perf_counter()
    model = LlamaCppChatModel(name, n_ctx=args.n_ctx).load()
    out: dict[str, Any] = {
        "model": name, "path": str(model.path),
        "load_s": round(model.load_seconds or 0.0, 2),
        "resolve_and_load_s": round(time.perf_counter() - start, 2),
    }
    model.generate([Message.user("warm up")], max_tokens=4)  # first-call allocations
    out["decode"] = decode_speed(model, args.decode_tokens)
    # Baseline: the same llama.cpp instance, reached over its loopback HTTP endpoint.
    http = OpenAIChatModel(model.http_address, name, timeout_s=120, max_retries=0)
    backends: list[ChatModel] = [model, http]
    for backend in backends:  # warm-up: grammar path and HTTP connection
        backend.generate([Message.user("warm up")], schema=SCHEMA, max_tokens=48)
    local: list[tuple[float, bool]] = []
    remote: list[tuple[float, bool]] = []
    # Interleaved, alternating who goes first, so load from other processes hits both alike.
    for i, prompt in enumerate(PROMPTS[: args.prompts]):
        pair: list[tuple[ChatModel, list[tuple[float, bool]]]] = [(model, local), (http, remote)]
        for backend, runs in pair if i % 2 == 0 else pair[::-1]:
            runs.append(extract_once(backend, prompt, args.extract_tokens))
    out["extract_in_process"] = summary(local)
    out["extract_http_baseline"] = summary(remote)
    out["http_overhead_p50_s"] = round(out["extract_http_baseline"]["p50_s"]
                                       - out["extract_in_process"]["p50_s"], 3)
    model.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["qwen2.5-coder-0.5b", "smollm2-135m"])
    parser.add_argument("--prompts", type=int, default=10)
    # The replies are ~18-24 tokens ('{\n  "genre": "sci-fi",\n  "mood": "dark"\n}'); a cap
    # of exactly 20 cuts about half of them off mid-JSON, so the cap leaves headroom.
    parser.add_argument("--extract-tokens", type=int, default=32)
    parser.add_argument("--decode-tokens", type=int, default=64)
    parser.add_argument("--n-ctx", type=int, default=4096)
    args = parser.parse_args()
    report = {
        "benchmark": "llm_speed", "machine": {"cpus": os.cpu_count(),
                                              "platform": platform.platform()},
        "settings": vars(args), "results": [bench(m, args) for m in args.models],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
