"""``OpenAIChatModel``: any OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp, hosted).

Plain ``urllib`` so the backend adds no dependency; retries with exponential backoff on
connection errors, 429 and 5xx (never on other 4xx: the same request would fail again).
"""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from http.client import HTTPResponse
from typing import Any
from urllib.parse import urlsplit

from agent.llm.base import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    ChatResult,
    JSONSchema,
    LLMResponseError,
    LLMTimeoutError,
    LLMUnavailableError,
    Message,
    as_messages,
    response_format,
    result_from_openai,
)
from agent.llm.settings import LLMSettings

log = logging.getLogger(__name__)
_RETRY_STATUS = {429, 500, 502, 503, 504}
_MAX_BACKOFF_S = 30.0


class OpenAIChatModel:
    """A chat model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Args:
        base_url: the API root as OpenAI clients take it (``http://host:8000/v1``); a bare
            ``http://host:port`` gets ``/v1`` appended.
        model: the model name the server expects.
        api_key: bearer token, if the server wants one.
        timeout_s: seconds to wait for the server (per connect / read).
        max_retries: extra tries on connection errors, 429 and 5xx.
        backoff_s: first retry delay; doubles each retry (a ``Retry-After`` header wins).
    """

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
                 timeout_s: float = 120.0, max_retries: int = 2, backoff_s: float = 0.5) -> None:
        if not urlsplit(base_url).scheme.startswith("http"):
            raise ValueError(f"base_url {base_url!r} is not an http(s) URL; "
                             "set TASTEBUD_LLM_BASE_URL=http://host:port/v1")
        base = base_url.rstrip("/")
        self.base_url = base if urlsplit(base).path else base + "/v1"
        self.name = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> OpenAIChatModel:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return cls(settings.base_url, settings.model, api_key=key, timeout_s=settings.timeout_s,
                   max_retries=settings.max_retries)

    def __repr__(self) -> str:
        return f"OpenAIChatModel({self.base_url!r}, model={self.name!r})"

    def _body(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] | None,
              schema: JSONSchema | None, max_tokens: int, temperature: float,
              stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.name,
            "messages": [m.to_openai() for m in as_messages(messages)],
            "max_tokens": max_tokens, "temperature": temperature, "stream": stream,
        }
        if tools:
            body["tools"] = list(tools)
        if schema is not None:
            body["response_format"] = response_format(schema)
        return body

    def generate(self, messages: Sequence[Message], *,
                 tools: Sequence[dict[str, Any]] | None = None, schema: JSONSchema | None = None,
                 max_tokens: int = DEFAULT_MAX_TOKENS,
                 temperature: float = DEFAULT_TEMPERATURE) -> ChatResult:
        """One completion (see ``ChatModel.generate``)."""
        body = self._body(messages, tools, schema, max_tokens, temperature, stream=False)
        start = time.perf_counter()
        with self._post(body) as resp:
            raw = self._read(resp)
        seconds = time.perf_counter() - start
        try:
            reply = json.loads(raw)
        except json.JSONDecodeError as e:
            raise LLMResponseError(f"the LLM at {self.base_url} answered with text that is not "
                                   f"JSON ({e}): {raw[:200]!r}") from e
        return result_from_openai(reply, schema, seconds, source=f"the LLM at {self.base_url}",
                                  tools=tools)

    def stream(self, messages: Sequence[Message], *, max_tokens: int = DEFAULT_MAX_TOKENS,
               temperature: float = DEFAULT_TEMPERATURE) -> Iterator[str]:
        """Yield text deltas from the server-sent events of a streaming completion."""
        body = self._body(messages, None, None, max_tokens, temperature, stream=True)
        with self._post(body) as resp:
            for data in self._events(resp):
                if data == "[DONE]":
                    return
                try:
                    event = json.loads(data)
                except json.JSONDecodeError as e:
                    raise LLMResponseError(f"malformed stream event from {self.base_url}: "
                                           f"{data[:200]!r}") from e
                if "error" in event:
                    raise LLMResponseError(f"the LLM at {self.base_url} failed while "
                                           f"streaming: {event['error']}")
                for choice in event.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield text

    def _events(self, resp: HTTPResponse) -> Iterator[str]:
        """The ``data:`` payloads of an SSE stream (comments and other fields skipped)."""
        while True:
            try:
                line = resp.readline()
            except TimeoutError as e:
                raise self._timeout() from e
            if not line:
                return
            text = line.decode("utf-8").rstrip("\r\n")
            if text.startswith("data:"):
                yield text[5:].strip()

    def _read(self, resp: HTTPResponse) -> str:
        try:
            return resp.read().decode("utf-8")
        except TimeoutError as e:
            raise self._timeout() from e

    def _timeout(self) -> LLMTimeoutError:
        return LLMTimeoutError(f"the LLM at {self.base_url} did not answer within "
                               f"{self.timeout_s:g}s; raise TASTEBUD_LLM_TIMEOUT_S, lower "
                               "max_tokens, or use a faster model")

    def _post(self, body: dict[str, Any]) -> HTTPResponse:
        """POST to /chat/completions, retrying what a retry can fix; the open response."""
        url = f"{self.base_url}/chat/completions"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode("utf-8")
        tries = self.max_retries + 1
        last = ""
        retry_after: float | None = None
        for attempt in range(tries):
            if attempt:
                delay = min(retry_after if retry_after is not None
                            else self.backoff_s * 2 ** (attempt - 1), _MAX_BACKOFF_S)
                log.warning("LLM call failed (%s); retry %d/%d in %.1fs",
                            last, attempt, self.max_retries, delay)
                time.sleep(delay)
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                return urllib.request.urlopen(request, timeout=self.timeout_s)  # noqa: S310
            except urllib.error.HTTPError as e:
                detail = _error_detail(e)
                if e.code not in _RETRY_STATUS:
                    hint = (" check TASTEBUD_LLM_API_KEY" if e.code in (401, 403) else
                            " check TASTEBUD_LLM_MODEL and TASTEBUD_LLM_BASE_URL"
                            if e.code == 404 else "")
                    raise LLMResponseError(f"the LLM at {url} rejected the request "
                                           f"(HTTP {e.code}): {detail};{hint}".rstrip(";")) from e
                last = f"HTTP {e.code}: {detail}"
                retry_after = _retry_after(e)
            except urllib.error.URLError as e:
                if isinstance(e.reason, TimeoutError | socket.timeout):
                    raise self._timeout() from e
                last, retry_after = f"{type(e.reason).__name__}: {e.reason}", None
            except TimeoutError as e:
                raise self._timeout() from e
            except (ConnectionError, OSError) as e:
                last, retry_after = f"{type(e).__name__}: {e}", None
        raise LLMUnavailableError(
            f"could not reach the LLM at {url} after {tries} tries: {last}; start the server "
            "or set TASTEBUD_LLM_BASE_URL")


def _error_detail(e: urllib.error.HTTPError) -> str:
    try:
        raw = e.read().decode("utf-8", "replace")
    except OSError:
        return e.reason or ""
    try:
        err = json.loads(raw).get("error", raw)
        return str(err.get("message", err) if isinstance(err, dict) else err)[:300]
    except (json.JSONDecodeError, AttributeError):
        return raw[:300]


def _retry_after(e: urllib.error.HTTPError) -> float | None:
    value = e.headers.get("Retry-After") if e.headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
