"""``TransformersChatModel``: any Hugging Face causal LM run in process with ``transformers``.

The model is a checkpoint directory (``config.json`` plus weights, as ``save_pretrained``
writes it, e.g. a simulator fine-tuned here) or a GGUF file, which transformers de-quantises
on load (the ``gguf`` package): the packaged models work offline under both backends.

JSON under a schema comes from validated retries: the schema goes into the prompt, the reply is
parsed and checked, and the model is told what was wrong, up to ``json_attempts`` times.
(llama.cpp constrains the sampler with a grammar instead; a plain transformers model cannot.)
"""

from __future__ import annotations

import json
import logging
import os
import re
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
    LLMTimeoutError,
    LLMUnavailableError,
    Message,
    Usage,
    as_messages,
    parse_json_reply,
    recover_tool_calls,
)

log = logging.getLogger(__name__)
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)


class TransformersChatModel:
    """A Hugging Face causal LM in this process; loaded on first use, one call at a time.

    Args:
        model: a checkpoint directory, a ``.gguf`` file, or a registered GGUF model name
            (``agent.llm.gguf.MODELS``).
        n_threads: torch CPU threads; default ``os.cpu_count()``.
        timeout_s: a call that generates longer is stopped and raises ``LLMTimeoutError``.
        json_attempts: tries at JSON valid under a schema before ``LLMResponseError``.
        seed: sampling seed (low-temperature extraction repeats).
    """

    def __init__(self, model: str | os.PathLike[str], *, n_threads: int | None = None,
                 timeout_s: float = 120.0, json_attempts: int = 3, seed: int = 42) -> None:
        self.name = str(model)
        self.n_threads = n_threads or os.cpu_count() or 1
        self.timeout_s = timeout_s
        self.json_attempts = max(1, json_attempts)
        self.seed = seed
        self.load_seconds: float | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.RLock()  # one generation at a time; also guards the lazy load

    def __repr__(self) -> str:
        return f"TransformersChatModel({self.name!r})"

    # ------------------------------------------------------------------ loading

    def load(self) -> TransformersChatModel:
        """Load tokenizer and weights now (otherwise the first call does it)."""
        with self._lock:
            if self._model is None:
                self._tokenizer, self._model = self._load()
        return self

    def _source(self) -> tuple[Path, str | None]:
        """(directory, gguf file name or None) for ``from_pretrained``."""
        from agent.llm.gguf import MODELS, resolve_model

        path = Path(self.name).expanduser()
        if self.name in MODELS or path.suffix == ".gguf":
            gguf = resolve_model(self.name)  # checksum-verified, parts joined
            return gguf.parent, gguf.name
        if path.is_dir() and (path / "config.json").is_file():
            return path, None
        raise LLMUnavailableError(
            f"{self.name} is neither a Hugging Face checkpoint directory (with config.json) "
            f"nor a .gguf file nor a registered model ({', '.join(sorted(MODELS))})")

    def _load(self) -> tuple[Any, Any]:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise LLMUnavailableError("the transformers backend needs torch and transformers: "
                                      "pip install -e .") from e
        folder, gguf = self._source()
        kw: dict[str, Any] = {"gguf_file": gguf} if gguf else {}
        start = time.perf_counter()
        torch.set_num_threads(self.n_threads)
        try:
            tok = AutoTokenizer.from_pretrained(folder, **kw)
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kw)
        except (OSError, ValueError, ImportError) as e:
            hint = " (GGUF files need the gguf and accelerate packages)" if gguf else ""
            raise LLMUnavailableError(f"transformers could not load {folder}"
                                      f"{'/' + gguf if gguf else ''}: {e}{hint}") from e
        model.eval()
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        if not getattr(tok, "chat_template", None):
            raise LLMUnavailableError(f"{self.name} has no chat template; use an instruct "
                                      "(chat) checkpoint")
        self.load_seconds = time.perf_counter() - start
        log.info("loaded %s with transformers in %.1fs", self.name, self.load_seconds)
        return tok, model

    # ------------------------------------------------------------------ calls

    def _inputs(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] | None
                ) -> Any:
        chat = []
        for m in as_messages(messages):
            role = m.role if m.role in ("system", "user", "assistant") else "user"
            text = m.content if m.role != "tool" else f"Tool {m.name or ''} result: {m.content}"
            chat.append({"role": role, "content": text})
        kw: dict[str, Any] = {"tools": list(tools)} if tools else {}
        return self._tokenizer.apply_chat_template(chat, add_generation_prompt=True,
                                                   return_tensors="pt", return_dict=True, **kw)

    def _generate_kwargs(self, max_tokens: int, temperature: float) -> dict[str, Any]:
        import torch

        torch.manual_seed(self.seed)
        sample = temperature > 0
        return {"max_new_tokens": max_tokens, "do_sample": sample,
                **({"temperature": temperature} if sample else {}),
                "pad_token_id": self._tokenizer.pad_token_id, "max_time": self.timeout_s}

    def _complete(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] | None,
                  max_tokens: int, temperature: float) -> tuple[str, Usage, str]:
        import torch

        with self._lock:
            self.load()
            inputs = self._inputs(messages, tools)
            start = time.perf_counter()
            with torch.inference_mode():
                out = self._model.generate(**inputs,
                                           **self._generate_kwargs(max_tokens, temperature))
            seconds = time.perf_counter() - start
        n_in = int(inputs["input_ids"].shape[1])
        new = out[0][n_in:]
        text = self._tokenizer.decode(new, skip_special_tokens=True)
        finish = "length" if len(new) >= max_tokens else "stop"
        if seconds >= self.timeout_s and finish != "stop":
            raise LLMTimeoutError(f"{self.name} generated for {seconds:.0f} s, past the "
                                  f"{self.timeout_s:g} s limit (TASTEBUD_LLM_TIMEOUT_S)")
        return text, Usage(n_in, len(new), seconds), finish

    def generate(self, messages: Sequence[Message], *,
                 tools: Sequence[dict[str, Any]] | None = None, schema: JSONSchema | None = None,
                 max_tokens: int = DEFAULT_MAX_TOKENS,
                 temperature: float = DEFAULT_TEMPERATURE) -> ChatResult:
        """One completion (see ``ChatModel.generate``); JSON by validated retries."""
        msgs = as_messages(messages)
        if schema is None:
            text, usage, finish = self._complete(msgs, tools, max_tokens, temperature)
            calls = _tool_calls(text, tools)
            return ChatResult(text="" if calls else text, tool_calls=calls, usage=usage,
                              finish_reason="tool_calls" if calls else finish)
        asked = [*msgs, Message.user(
            "Answer with one JSON value only, no prose, valid under this JSON schema:\n"
            + json.dumps(schema, separators=(",", ":")))]
        problem = ""
        for attempt in range(self.json_attempts):
            text, usage, finish = self._complete(asked, None, max_tokens,
                                                 temperature if attempt == 0 else 0.0)
            body = _json_body(text)
            try:
                value = parse_json_reply(body, schema)
            except LLMResponseError as e:
                problem = str(e)
                asked = [*asked, Message.assistant(text), Message.user(
                    f"That was not valid: {problem[:300]}. Reply again with the JSON only.")]
                continue
            return ChatResult(text=body, json=value, usage=usage, finish_reason=finish)
        raise LLMResponseError(f"{self.name} gave no JSON valid under the schema in "
                               f"{self.json_attempts} tries; last problem: {problem}")

    def stream(self, messages: Sequence[Message], *, max_tokens: int = DEFAULT_MAX_TOKENS,
               temperature: float = DEFAULT_TEMPERATURE) -> Generator[str, None, None]:
        """Yield text as it is generated; closing the generator stops generation."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        msgs = as_messages(messages)
        cancel = threading.Event()
        failure: list[BaseException] = []

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool)

        with self._lock:
            self.load()
            inputs = self._inputs(msgs, None)
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True,
                                        skip_special_tokens=True, timeout=self.timeout_s)
        kwargs = {**inputs, **self._generate_kwargs(max_tokens, temperature),
                  "streamer": streamer,
                  "stopping_criteria": StoppingCriteriaList([_Cancelled()])}

        def work() -> None:
            try:
                with self._lock, torch.inference_mode():
                    self._model.generate(**kwargs)
            except BaseException as e:  # handed to the consumer
                failure.append(e)
                streamer.end()

        worker = threading.Thread(target=work, name=f"hf-stream-{self.name}", daemon=True)
        worker.start()
        try:
            for text in streamer:
                if text:
                    yield text
        except Exception as e:  # the streamer's queue timed out
            raise LLMTimeoutError(f"{self.name} produced nothing for {self.timeout_s:g} s") \
                from e
        finally:
            cancel.set()
            worker.join()
        if failure:
            raise LLMResponseError(f"transformers failed while streaming: {failure[0]}") \
                from failure[0]


def _json_body(text: str) -> str:
    """The JSON in a reply: fences dropped, from the first bracket to its last partner."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[-1].rsplit("```", 1)[0].strip()
    starts = [i for i in (body.find("{"), body.find("[")) if i >= 0]
    if not starts:
        return body
    start = min(starts)
    end = body.rfind("}" if body[start] == "{" else "]")
    return body[start:end + 1] if end > start else body[start:]


def _tool_calls(text: str, tools: Sequence[dict[str, Any]] | None) -> tuple[Any, ...]:
    """Tool calls in Qwen/Hermes ``<tool_call>`` markup, or a bare JSON call."""
    if not tools:
        return ()
    marked = _TOOL_CALL.findall(text)
    if marked:
        return recover_tool_calls("[" + ",".join(marked) + "]", tools)
    return recover_tool_calls(text, tools)
