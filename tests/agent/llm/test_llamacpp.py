"""The real default model (Qwen2.5-Coder-0.5B, joined from its PyPI parts) in process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.llm import ChatModel, Message
from agent.llm.llamacpp import LlamaCppChatModel

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def qwen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppChatModel]:
    pytest.importorskip("xllamacpp")
    # Joined once per module into its own dir (~3 s), not once per test's sealed data dir.
    model = LlamaCppChatModel("qwen2.5-coder-0.5b", n_ctx=1024,
                              cache_dir=tmp_path_factory.mktemp("llm-cache")).load()
    yield model
    model.close()


def test_joined_verified_and_loaded(qwen: LlamaCppChatModel) -> None:
    assert isinstance(qwen, ChatModel)
    assert qwen.path is not None and qwen.path.stat().st_size == 491_400_064
    assert Path(str(qwen.path) + ".sha256.json").exists()


def test_chat(qwen: LlamaCppChatModel) -> None:
    result = qwen.generate([Message.user("Reply with one word: what color is the sky?")],
                           max_tokens=8, temperature=0)
    assert result.text.strip() and 0 < result.usage.completion_tokens <= 8


EXTRACT = {
    "type": "object", "additionalProperties": False, "required": ["genres", "before_year"],
    "properties": {
        "genres": {"type": "array", "maxItems": 3,
                   "items": {"type": "string", "enum": ["horror", "sci-fi", "comedy", "drama"]}},
        "before_year": {"type": ["integer", "null"]},
    },
}


def test_schema_constrained_json(qwen: LlamaCppChatModel) -> None:
    result = qwen.generate(
        [Message.system("Extract the movie request as JSON."),
         Message.user("a scary sci-fi film from before 1990")],
        schema=EXTRACT, max_tokens=40, temperature=0)
    assert result.json is not None  # parsed and validated, or generate() would have raised
    assert set(result.json["genres"]) <= {"horror", "sci-fi", "comedy", "drama"}


def test_stream_deltas_and_early_close(qwen: LlamaCppChatModel) -> None:
    chunks = list(qwen.stream([Message.user("Count from 1 to 5.")], max_tokens=10, temperature=0))
    assert len(chunks) >= 3 and "1" in "".join(chunks)
    stream = qwen.stream([Message.user("Write a long story.")], max_tokens=200)
    assert next(stream)
    stream.close()  # stops generation and releases the lock...
    assert qwen.generate([Message.user("Hi")], max_tokens=2).text  # ...so this is not blocked


def test_calls_from_threads_are_serialised(qwen: LlamaCppChatModel) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def ask(word: str) -> None:
        try:
            results.append(qwen.generate([Message.user(f"Repeat: {word}")], max_tokens=4).text)
        except BaseException as e:  # collected and re-raised by the main thread's assert
            errors.append(e)

    threads = [threading.Thread(target=ask, args=(w,)) for w in ("red", "blue", "green")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(results) == 3 and all(results)


def test_tool_call(qwen: LlamaCppChatModel) -> None:
    tools = [{"type": "function", "function": {
        "name": "search_items", "description": "Search the movie catalog.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                       "required": ["query"]}}}]
    result = qwen.generate([Message.user("Find movies like Alien.")], tools=tools,
                           max_tokens=30, temperature=0)
    assert [c.name for c in result.tool_calls] == ["search_items"]
    assert isinstance(result.tool_calls[0].arguments.get("query"), str)
