"""LLM extraction: few-shot prompt, JSON-schema constrained output, grounded in the catalog."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from agent.llm.base import ChatModel, Message
from agent.nlu.lexicon import Lexicon
from agent.nlu.request import FEEDBACK_VALUES, KINDS, Request, request_schema

MAX_TOKENS = 200
YEAR_RANGE = (1870, 2035)


@cache
def load_prompt() -> tuple[str, tuple[tuple[str, str], ...]]:
    """The system text and the few-shot (user, json) pairs of ``agent/prompts/nlu.md``."""
    text = (resources.files("agent") / "prompts" / "nlu.md").read_text(encoding="utf-8")
    system, _, shots = text.partition("\n---\n")
    pairs = re.findall(r"^user: (.*)\njson: (.*)$", shots, flags=re.M)
    for _, js in pairs:
        json.loads(js)  # a broken example in the prompt file is our bug: fail loudly
    return system.strip(), tuple(pairs)


def build_messages(text: str, lex: Lexicon) -> list[Message]:
    """System prompt (with the catalog's small vocabularies) + few-shot turns + the message."""
    system, pairs = load_prompt()
    fields = "; ".join(
        f"{name}: " + (", ".join(vals) if len(vals) <= 64 else "free text (e.g. "
                       + ", ".join(vals[:5]) + ")")
        for name, vals in lex.fields.items())
    msgs = [Message.system(system.replace("{fields}", fields))]
    for user, js in pairs:
        msgs += [Message.user(user), Message.assistant(js)]
    msgs.append(Message.user(text))
    return msgs


def schema_for(lex: Lexicon) -> dict[str, Any]:
    """The Request schema with small vocabularies as enums (a grammar for llama.cpp)."""
    return request_schema(lex.fields)


def llm_extract(text: str, lex: Lexicon, llm: ChatModel, *,
                shown: int | list[str] | None = None) -> Request:
    """Ask ``llm`` for a Request and keep only what the catalog grounds (LLMError propagates)."""
    result = llm.generate(build_messages(text, lex), schema=schema_for(lex),
                          max_tokens=MAX_TOKENS, temperature=0.0)
    data = result.json if isinstance(result.json, dict) else {}
    n_shown = len(shown) if isinstance(shown, list) else shown
    return ground(data, lex, n_shown=n_shown)


def ground(data: dict[str, Any], lex: Lexicon, *, n_shown: int | None = None) -> Request:
    """A Request from raw LLM JSON: unknown fields/values dropped, names mapped by the lexicon."""
    req = Request()
    kind = data.get("kind")
    req.kind = kind if kind in KINDS else "recommend"
    for slot in ("include", "exclude"):
        bucket = data.get(slot)
        if not isinstance(bucket, dict):
            continue
        for fld, values in bucket.items():
            for v in values if isinstance(values, list) else []:
                value = lex.ground_value(str(fld), str(v)) if isinstance(v, str) else None
                if value is not None:
                    req.add(slot, fld, value)
    for key in ("year_min", "year_max"):
        y = data.get(key)
        if isinstance(y, int) and not isinstance(y, bool) and YEAR_RANGE[0] <= y <= YEAR_RANGE[1]:
            setattr(req, key, y)
    for t in data.get("titles") or []:
        title = lex.ground_title(t) if isinstance(t, str) and t.strip() else None
        if title and title not in req.titles:
            req.titles.append(title)
    for r in data.get("refs") or []:
        if isinstance(r, int) and r >= 1 and (n_shown is None or r <= n_shown) \
                and r not in req.refs:
            req.refs.append(r)
    fb = data.get("feedback")
    for k, v in (fb.items() if isinstance(fb, dict) else []):
        if v not in FEEDBACK_VALUES:
            continue
        if str(k).isdigit():
            req.feedback[str(k)] = v
        elif (title := lex.ground_title(str(k))) is not None:
            req.feedback[title] = v
    ft = data.get("free_text")
    req.free_text = ft.strip() if isinstance(ft, str) and ft.strip() else None
    return req
