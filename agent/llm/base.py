"""Shared types of the LLM layer: messages, tool calls, results, ``ChatModel``, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from recsys.errors import TastebudError

Role = Literal["system", "user", "assistant", "tool"]
JSONSchema = dict[str, Any]
# Low temperature by default: the LLM mostly extracts and formats; creativity is a bug there.
DEFAULT_TEMPERATURE = 0.2
DEFAULT_MAX_TOKENS = 256


# --------------------------------------------------------------------------- errors


class LLMError(TastebudError):
    """Base of every error raised by an LLM backend."""


class LLMUnavailableError(LLMError):
    """The LLM could not be reached (connection refused, 5xx after retries, model not loadable)."""


class LLMTimeoutError(LLMError):
    """The LLM did not answer in time."""


class LLMResponseError(LLMError):
    """The LLM answered, but the reply is malformed, rejected (4xx) or breaks the JSON schema."""


class ModelNotInstalledError(LLMError):
    """A named model's package(s) are not installed; the message says what to pip install."""


class ModelChecksumError(LLMError):
    """A model file's sha256 differs from the expected one; it is never loaded."""

    def __init__(self, path: str, expected: str, got: str, hint: str) -> None:
        self.path, self.expected, self.got = path, expected, got
        super().__init__(
            f"model file {path} failed its checksum: expected sha256 {expected}, got {got}. {hint}"
        )


class ScriptExhaustedError(LLMError, AssertionError):
    """A ``ScriptedChatModel`` was called more often than its script has replies."""


# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class ToolCall:
    """One call of a tool the model asked for; ``arguments`` is parsed JSON."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments)},
        }


@dataclass(frozen=True)
class Message:
    """One chat message; ``tool`` messages carry the ``tool_call_id`` they answer."""

    role: Role
    content: str
    tool_call_id: str | None = None
    name: str | None = None
    # An assistant turn that called tools: needed to send the tool results back in OpenAI format.
    tool_calls: tuple[ToolCall, ...] = ()

    @classmethod
    def system(cls, content: str) -> Message:
        return cls("system", content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls("user", content)

    @classmethod
    def assistant(cls, content: str, tool_calls: Sequence[ToolCall] = ()) -> Message:
        return cls("assistant", content, tool_calls=tuple(tool_calls))

    @classmethod
    def tool(cls, tool_call_id: str, content: str, name: str | None = None) -> Message:
        return cls("tool", content, tool_call_id=tool_call_id, name=name)

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        if self.tool_calls:
            out["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        return out


@dataclass(frozen=True)
class Usage:
    """Token counts and wall-clock seconds of one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class ChatResult:
    """What one ``generate`` call returned: text, tool calls, and the parsed JSON when asked."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    json: Any | None = None
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None


@runtime_checkable
class ChatModel(Protocol):
    """Messages in; text, schema-constrained JSON, or tool calls out."""

    name: str

    def generate(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        schema: JSONSchema | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> ChatResult:
        """One completion; with ``schema`` the reply is JSON valid under it (``result.json``)."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> Iterator[str]:
        """Yield the reply's text as it is generated."""
        ...


# --------------------------------------------------------------------------- helpers


def as_messages(messages: Sequence[Message | dict[str, Any]]) -> list[Message]:
    """Accept ``Message`` objects or OpenAI-style dicts; reject anything else by name."""
    out: list[Message] = []
    for i, m in enumerate(messages):
        if isinstance(m, Message):
            out.append(m)
        elif isinstance(m, dict) and "role" in m:
            out.append(Message(m["role"], m.get("content") or "", m.get("tool_call_id"),
                               m.get("name")))
        else:
            raise TypeError(f"messages[{i}] is {type(m).__name__}; expected Message or a dict "
                            "with 'role' and 'content'")
    if not out:
        raise ValueError("messages is empty; pass at least one user message")
    return out


def response_format(schema: JSONSchema) -> dict[str, Any]:
    """The OpenAI ``response_format`` for a JSON schema (llama.cpp turns it into a grammar)."""
    name = str(schema.get("title") or "result").replace(" ", "_")[:64]
    return {"type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True}}


def parse_tool_calls(raw: Sequence[dict[str, Any]] | None) -> tuple[ToolCall, ...]:
    """Parse OpenAI-format tool calls (arguments arrive as a JSON string)."""
    calls = []
    for i, c in enumerate(raw or ()):
        fn = c.get("function") or {}
        args = fn.get("arguments") or "{}"
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except json.JSONDecodeError as e:
                raise LLMResponseError(
                    f"tool call '{fn.get('name')}' has arguments that are not JSON ({e}): "
                    f"{args[:200]!r}") from e
        if not isinstance(args, dict) or not fn.get("name"):
            raise LLMResponseError(f"malformed tool call: {json.dumps(c)[:300]}")
        calls.append(ToolCall(id=str(c.get("id") or f"call_{i}"), name=fn["name"], arguments=args))
    return tuple(calls)


def parse_json_reply(text: str, schema: JSONSchema) -> Any:
    """``json.loads`` the reply and validate it against ``schema``; LLMResponseError if not."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise LLMResponseError(
            f"the model was asked for JSON but replied with text that is not JSON ({e}): "
            f"{text[:200]!r}; raise max_tokens if the reply was cut off") from e
    problems = validate_json(value, schema)
    if problems:
        raise LLMResponseError("the model's JSON breaks the schema: " + "; ".join(problems[:5]))
    return value


def validate_json(value: Any, schema: JSONSchema) -> list[str]:
    """Problems of ``value`` under ``schema`` (empty: valid); uses jsonschema when installed."""
    try:
        import jsonschema
    except ImportError:
        return _mini_validate(value, schema, "$")
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
            for e in validator.iter_errors(value)]


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),),
}


def _mini_validate(value: Any, schema: JSONSchema, path: str) -> list[str]:
    """The subset of JSON Schema the project's extraction schemas use (jsonschema is optional)."""
    if not isinstance(schema, dict):
        return []
    problems: list[str] = []
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        ok = any(isinstance(value, _TYPES.get(t, ())) and not (
            t in ("integer", "number") and isinstance(value, bool)) for t in names)
        if not ok:
            return [f"{path}: {value!r} is not of type {'/'.join(names)}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{path}: {value!r} is not {schema['const']!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: {value} is less than {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path}: {value} is more than {schema['maximum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        problems += [f"{path}: '{k}' is a required property"
                     for k in schema.get("required", []) if k not in value]
        for k, v in value.items():
            if k in props:
                problems += _mini_validate(v, props[k], f"{path}/{k}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}: additional property '{k}' is not allowed")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{path}: more than {schema['maxItems']} items")
        for i, v in enumerate(value):
            problems += _mini_validate(v, schema.get("items", {}), f"{path}/{i}")
    for key in ("anyOf", "oneOf"):
        if key in schema and all(_mini_validate(value, s, path) for s in schema[key]):
            problems.append(f"{path}: {value!r} matches none of {key}")
    return problems


def result_from_openai(reply: Any, schema: JSONSchema | None, seconds: float,
                       source: str = "the LLM",
                       tools: Sequence[dict[str, Any]] | None = None) -> ChatResult:
    """A ``ChatResult`` from an OpenAI-format chat completion (parsed JSON validated)."""
    if not isinstance(reply, dict) or not reply.get("choices"):
        detail = reply.get("error") if isinstance(reply, dict) else reply
        raise LLMResponseError(f"{source} returned no choices: {str(detail)[:300]}")
    choice = reply["choices"][0]
    message = choice.get("message") if isinstance(choice, dict) else None
    usage = reply.get("usage") or {}
    if not isinstance(message, dict) or not isinstance(usage, dict):
        raise LLMResponseError(f"{source} returned a malformed reply: {str(reply)[:300]}")
    text = message.get("content") or ""
    calls = parse_tool_calls(message.get("tool_calls"))
    if tools and not calls and schema is None:
        calls = recover_tool_calls(text, tools)
        text = "" if calls else text
    return ChatResult(
        text=text,
        tool_calls=calls,
        json=parse_json_reply(text, schema) if schema is not None else None,
        usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), seconds),
        finish_reason=choice.get("finish_reason"),
    )


def recover_tool_calls(text: str, tools: Sequence[dict[str, Any]] | None) -> tuple[ToolCall, ...]:
    """Tool calls a small model wrote as a bare JSON object instead of the template's markup.

    Qwen2.5-0.5B often answers ``{"name": "search_items", "arguments": {...}}`` (fenced or not)
    without ``<tool_call>`` tags, so llama.cpp's parser leaves it as text. Only a whole reply
    that parses as JSON and names one of ``tools`` counts; anything else stays text.
    """
    names = {t.get("function", {}).get("name") for t in tools or ()}
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[-1].rsplit("```", 1)[0]
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        return ()
    items = value if isinstance(value, list) else [value]
    calls = []
    for i, item in enumerate(items):
        if not (isinstance(item, dict) and item.get("name") in names
                and isinstance(item.get("arguments", {}), dict)):
            return ()
        calls.append(ToolCall(f"call_{i}", item["name"], item.get("arguments", {})))
    return tuple(calls)
