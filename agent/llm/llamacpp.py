"""``LlamaCppChatModel``: a local GGUF model run in process through xllamacpp (llama.cpp)."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

from agent.llm.base import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    ChatResult,
    JSONSchema,
    LLMResponseError,
    LLMUnavailableError,
    Message,
    as_messages,
    response_format,
    result_from_openai,
)
from agent.llm.gguf import resolve_model

log = logging.getLogger(__name__)
_DONE = object()


SLOTS = 2


class LlamaCppChatModel:
    """A GGUF chat model in this process; loaded on first use, one call at a time.

    Args:
        model: a registered name (``agent.llm.gguf.MODELS``) or the path of a ``.gguf`` file.
        n_ctx: context window in tokens.
        n_threads: CPU threads; default ``os.cpu_count()``.
        seed: sampling seed, so low-temperature extraction is repeatable.
        cache_dir: where part-joined models live; default ``<data_dir>/models/llm``.
        verbose: let llama.cpp log to stderr (``TASTEBUD_LLM_VERBOSE=1``).
    """

    def __init__(self, model: str | os.PathLike[str] = "qwen2.5-coder-0.5b", *, n_ctx: int = 4096,
                 n_threads: int | None = None, seed: int = 42,
                 cache_dir: Path | None = None, verbose: bool = False) -> None:
        self.name = str(model)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.seed = seed
        self.cache_dir = cache_dir
        self.verbose = verbose
        self.path: Path | None = None
        self.load_seconds: float | None = None
        self._server: Any = None
        # llama.cpp runs one sequence per slot; the web app calls from worker threads, so one
        # lock per model serialises calls (and guards the lazy load).
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"LlamaCppChatModel({self.name!r}, n_ctx={self.n_ctx}, n_threads={self.n_threads})"

    def load(self) -> LlamaCppChatModel:
        """Verify and load the model now (otherwise the first call does it)."""
        with self._lock:
            if self._server is None:
                self._server = self._start()
        return self

    @property
    def http_address(self) -> str:
        """The loopback OpenAI-compatible URL that llama.cpp serves for this loaded model."""
        return str(self.load()._server.listening_address)

    def close(self) -> None:
        """Free the model's memory; a later call loads it again."""
        with self._lock:
            self._server = None

    def _start(self) -> Any:
        try:
            import xllamacpp
        except ImportError as e:
            raise LLMUnavailableError("the llamacpp backend needs xllamacpp: "
                                      "pip install xllamacpp==2026.10.11549") from e
        self.path = resolve_model(self.name, self.cache_dir)
        params = xllamacpp.CommonParams()
        params.model.path = str(self.path)
        # Calls are serialised by our lock, so slots are not for concurrency: each keeps the KV
        # cache of its last prompt, and the server picks the slot sharing the longest prefix.
        # Two slots let the understanding prompt (long few-shot prefix) and the reply prompt
        # stay cached side by side instead of evicting each other every turn.
        params.n_parallel = SLOTS
        params.n_ctx = self.n_ctx * SLOTS  # split between the slots: each gets n_ctx
        params.cpuparams.n_threads = self.n_threads
        params.cpuparams_batch.n_threads = self.n_threads
        params.use_jinja = True  # the GGUF's own chat template: needed for native tool calls
        params.sampling.seed = self.seed
        # llama.cpp logs every slot and request to stderr; it would bury progress bars and
        # the chat. -1 silences it (errors still surface as exceptions or error replies).
        params.verbosity = 3 if self.verbose else -1
        start = time.perf_counter()
        try:
            server = xllamacpp.Server(params)
        except (RuntimeError, ValueError) as e:
            raise LLMUnavailableError(f"llama.cpp could not load {self.path}: {e}") from e
        self.load_seconds = time.perf_counter() - start
        log.info("loaded %s in %.1fs (%d threads)", self.path, self.load_seconds, self.n_threads)
        return server

    def _request(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] | None,
                 schema: JSONSchema | None, max_tokens: int, temperature: float,
                 stream: bool = False) -> dict[str, Any]:
        req: dict[str, Any] = {
            "messages": [m.to_openai() for m in as_messages(messages)],
            "max_tokens": max_tokens, "temperature": temperature, "seed": self.seed,
        }
        if tools:
            req["tools"] = list(tools)
        if schema is not None:
            # llama.cpp compiles the schema into a grammar: the sampler cannot leave it.
            req["response_format"] = response_format(schema)
        if stream:
            req["stream"] = True
        return req

    def generate(self, messages: Sequence[Message], *,
                 tools: Sequence[dict[str, Any]] | None = None, schema: JSONSchema | None = None,
                 max_tokens: int = DEFAULT_MAX_TOKENS,
                 temperature: float = DEFAULT_TEMPERATURE) -> ChatResult:
        """One completion (see ``ChatModel.generate``)."""
        req = self._request(messages, tools, schema, max_tokens, temperature)
        with self._lock:
            server = self.load()._server
            start = time.perf_counter()
            try:
                reply = server.handle_chat_completions(req)
            except ValueError as e:
                raise LLMResponseError(f"llama.cpp rejected the request: {e}") from e
            seconds = time.perf_counter() - start
        return result_from_openai(reply, schema, seconds, source="llama.cpp",
                                  tools=tools)

    def stream(self, messages: Sequence[Message], *, max_tokens: int = DEFAULT_MAX_TOKENS,
               temperature: float = DEFAULT_TEMPERATURE) -> Generator[str, None, None]:
        """Yield text deltas as llama.cpp produces them; closing the generator stops generation."""
        req = self._request(messages, None, None, max_tokens, temperature, stream=True)
        chunks: queue.Queue[Any] = queue.Queue()
        cancel = threading.Event()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            chunks.put(chunk)
            return cancel.is_set()  # True asks llama.cpp to stop

        def work() -> None:
            # The lock is held for the whole generation, in this worker thread.
            try:
                with self._lock:
                    self.load()._server.handle_chat_completions(req, on_chunk)
            except BaseException as e:  # handed to the consumer, re-raised there
                chunks.put(e)
            finally:
                chunks.put(_DONE)

        worker = threading.Thread(target=work, name=f"llamacpp-stream-{self.name}", daemon=True)
        worker.start()
        try:
            while (item := chunks.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise LLMResponseError(f"llama.cpp failed while streaming: {item}") from item
                if "error" in item:
                    raise LLMResponseError(f"llama.cpp streaming error: {item['error']}")
                for choice in item.get("choices", ()):
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield text
        finally:
            cancel.set()
            worker.join()

