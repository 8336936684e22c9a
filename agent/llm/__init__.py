"""LLM backends behind one ``ChatModel`` protocol, found through a registry.

``get_chat_model()`` returns the backend that ``LLMSettings`` (``TASTEBUD_LLM_*``) names:
``llamacpp`` (local GGUF, the offline default), ``transformers`` (a Hugging Face
checkpoint in process), ``openai`` (any OpenAI-compatible server) or
``fake`` (scripted). Backend modules import their heavy dependencies only when used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from agent.llm.base import (
    ChatModel,
    ChatResult,
    LLMError,
    LLMResponseError,
    LLMTimeoutError,
    LLMUnavailableError,
    Message,
    ModelChecksumError,
    ModelNotInstalledError,
    ScriptExhaustedError,
    ToolCall,
    Usage,
)
from agent.llm.settings import LLMSettings, get_llm_settings
from recsys.errors import UnknownNameError

__all__ = [
    "BACKENDS", "ChatModel", "ChatResult", "LLMError", "LLMResponseError", "LLMSettings",
    "LLMTimeoutError", "LLMUnavailableError", "Message", "ModelChecksumError",
    "ModelNotInstalledError", "ScriptExhaustedError", "ToolCall", "Usage", "get_chat_model",
    "get_llm_settings", "list_models",
]


def _llamacpp(settings: LLMSettings) -> ChatModel:
    from agent.llm.llamacpp import LlamaCppChatModel

    # One in-process model per (model, n_ctx, threads): loading twice would double the memory
    # and bypass the per-model lock that makes calls from worker threads safe.
    key = (settings.model, settings.n_ctx, settings.n_threads)
    with _cache_lock:
        if key not in _llama_models:
            _llama_models[key] = LlamaCppChatModel(settings.model, n_ctx=settings.n_ctx,
                                                   n_threads=settings.n_threads,
                                                   verbose=settings.verbose)
        return _llama_models[key]


def _transformers(settings: LLMSettings) -> ChatModel:
    from agent.llm.hf import TransformersChatModel

    key = ("transformers", settings.model, settings.n_threads)
    with _cache_lock:
        if key not in _llama_models:
            _llama_models[key] = TransformersChatModel(settings.model,
                                                       n_threads=settings.n_threads,
                                                       timeout_s=settings.timeout_s)
        return _llama_models[key]


def _openai(settings: LLMSettings) -> ChatModel:
    from agent.llm.openai_compat import OpenAIChatModel

    return OpenAIChatModel.from_settings(settings)


def _fake(settings: LLMSettings) -> ChatModel:
    from agent.llm.scripted import ScriptedChatModel

    return ScriptedChatModel(fallback="(fake LLM: set TASTEBUD_LLM_BACKEND=llamacpp for a model)",
                             name="fake")


BACKENDS: dict[str, Callable[[LLMSettings], ChatModel]] = {
    "llamacpp": _llamacpp, "transformers": _transformers, "openai": _openai, "fake": _fake,
}
_llama_models: dict[tuple[Any, ...], ChatModel] = {}  # in-process models, one per key
_cache_lock = threading.Lock()


def get_chat_model(settings: LLMSettings | None = None) -> ChatModel:
    """The chat model the settings name (default: ``get_llm_settings()``); loads lazily."""
    settings = settings or get_llm_settings()
    if settings.backend not in BACKENDS:
        raise UnknownNameError("LLM backend", settings.backend, list(BACKENDS))
    return BACKENDS[settings.backend](settings)


def list_models() -> dict[str, str]:
    """Registered local model names with a one-line description."""
    from agent.llm.gguf import list_models as _list

    return _list()
