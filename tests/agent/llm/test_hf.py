"""The transformers backend's own parts: what it loads, how it reads JSON and tool calls out of
free text, and the errors it gives (the shared contract runs it on a real model, marked llm)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.llm import LLMUnavailableError, get_chat_model
from agent.llm.hf import TransformersChatModel, _json_body, _tool_calls
from agent.llm.settings import LLMSettings

TOOLS = [{"type": "function", "function": {"name": "search_items", "parameters": {}}}]


def test_the_registry_builds_it_from_settings() -> None:
    m = get_chat_model(LLMSettings(backend="transformers", model="smollm2-135m"))
    assert isinstance(m, TransformersChatModel) and m.name == "smollm2-135m"
    assert m._model is None  # loads on first use, not at construction


def test_a_folder_without_a_checkpoint_says_what_it_needs(tmp_path: Path) -> None:
    with pytest.raises(LLMUnavailableError, match="config.json"):
        TransformersChatModel(str(tmp_path)).load()


def test_json_is_found_in_chatty_replies() -> None:
    assert _json_body('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert _json_body('Sure! Here it is: {"a": {"b": 2}} Hope it helps.') == '{"a": {"b": 2}}'
    assert _json_body("[1, 2] and more") == "[1, 2]"
    assert _json_body("no json here") == "no json here"


def test_tool_calls_in_markup_or_bare_json() -> None:
    marked = 'ok <tool_call>{"name": "search_items", "arguments": {"query": "heist"}}</tool_call>'
    (call,) = _tool_calls(marked, TOOLS)
    assert call.name == "search_items" and call.arguments == {"query": "heist"}
    assert _tool_calls('{"name": "search_items", "arguments": {}}', TOOLS)[0].arguments == {}
    assert _tool_calls('{"name": "delete_everything", "arguments": {}}', TOOLS) == ()
    assert _tool_calls("just words", TOOLS) == () and _tool_calls(marked, None) == ()
