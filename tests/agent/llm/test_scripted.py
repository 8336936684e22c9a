"""The scripted fake: replays, records, runs out loudly, simulates timeouts; the factory."""

from __future__ import annotations

import time

import pytest

from agent.llm import (
    ChatModel,
    LLMResponseError,
    LLMSettings,
    LLMTimeoutError,
    Message,
    ScriptExhaustedError,
    ToolCall,
    get_chat_model,
)
from agent.llm.base import validate_json
from agent.llm.scripted import ScriptedChatModel, Timeout

SCHEMA = {
    "type": "object",
    "properties": {"genre": {"type": "string", "enum": ["horror", "sci-fi"]},
                   "year": {"type": ["integer", "null"]}},
    "required": ["genre"], "additionalProperties": False,
}


def test_replays_text_json_and_tool_calls_in_order() -> None:
    call = ToolCall("c1", "search_items", {"query": "alien"})
    model = ScriptedChatModel(["hello", {"genre": "horror", "year": None}, call])
    assert isinstance(model, ChatModel)
    assert model.generate([Message.user("hi")]).text == "hello"
    result = model.generate([Message.user("scary")], schema=SCHEMA)
    assert result.json == {"genre": "horror", "year": None}
    tools = [{"type": "function", "function": {"name": "search_items", "parameters": {}}}]
    assert model.generate([Message.user("find")], tools=tools).tool_calls == (call,)
    assert [c.last_user for c in model.calls] == ["hi", "scary", "find"]
    assert model.calls[1].schema == SCHEMA and model.calls[2].tools == tools
    assert model.remaining == 0


def test_accepts_openai_style_dicts() -> None:
    model = ScriptedChatModel(["ok"])
    model.generate([{"role": "user", "content": "hey"}])  # type: ignore[list-item]
    assert model.calls[0].messages == [Message.user("hey")]


def test_running_out_is_a_clear_error() -> None:
    model = ScriptedChatModel(["only one"])
    model.generate([Message.user("a")])
    with pytest.raises(ScriptExhaustedError, match="ran out of replies.*'b'.*Add a reply"):
        model.generate([Message.user("b")])


def test_fallback_answers_after_the_script() -> None:
    model = ScriptedChatModel([], fallback="default")
    assert model.generate([Message.user("a")]).text == "default"


def test_simulated_timeout_and_exceptions() -> None:
    model = ScriptedChatModel([Timeout(after_s=0.05), LLMResponseError("bad"), "fine"])
    start = time.perf_counter()
    with pytest.raises(LLMTimeoutError):
        model.generate([Message.user("a")])
    assert time.perf_counter() - start >= 0.05
    with pytest.raises(LLMResponseError, match="bad"):
        model.generate([Message.user("b")])
    assert model.generate([Message.user("c")]).text == "fine"


def test_schema_breaking_reply_raises_like_a_real_backend() -> None:
    model = ScriptedChatModel([{"genre": "western"}, "not json"])
    with pytest.raises(LLMResponseError, match="western"):
        model.generate([Message.user("a")], schema=SCHEMA)
    with pytest.raises(LLMResponseError, match="not JSON"):
        model.generate([Message.user("b")], schema=SCHEMA)


def test_stream_yields_words_and_records_the_call() -> None:
    model = ScriptedChatModel(["Alien is a 1979 film."])
    chunks = list(model.stream([Message.user("tell me")]))
    assert "".join(chunks) == "Alien is a 1979 film." and len(chunks) == 5
    assert model.calls[0].stream


def test_fake_backend_from_settings() -> None:
    model = get_chat_model(LLMSettings(backend="fake"))
    assert model.name == "fake" and "fake LLM" in model.generate([Message.user("x")]).text


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASTEBUD_LLM_BACKEND", "openai")
    monkeypatch.setenv("TASTEBUD_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TASTEBUD_LLM_API_KEY", "sk-test")
    monkeypatch.setenv("TASTEBUD_LLM_MAX_RETRIES", "5")
    settings = LLMSettings()
    assert settings.backend == "openai" and settings.max_retries == 5
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "sk-test"
    model = get_chat_model(settings)
    assert type(model).__name__ == "OpenAIChatModel" and "sk-test" not in repr(settings)


@pytest.mark.parametrize(("value", "ok"), [
    ({"genre": "horror"}, True), ({"genre": "horror", "year": 1979}, True),
    ({"genre": "western"}, False), ({}, False), ({"genre": "sci-fi", "extra": 1}, False),
    ({"genre": "horror", "year": True}, False), (["horror"], False),
])
def test_minimal_validation(value: object, ok: bool) -> None:
    assert (validate_json(value, SCHEMA) == []) is ok
