"""One contract for every ``ChatModel`` backend: the same tests run on the scripted fake, the
OpenAI-compatible client (against a loopback server), and, marked ``llm``, the real in-process
backends (llama.cpp and transformers) with the packaged SmolLM2-135M.

The contract: a name; ``generate`` gives text and usage; ``stream`` yields text pieces and stops
when closed early, leaving the model usable; with a schema the JSON is valid under it or the
call raises ``LLMResponseError`` (never invalid JSON returned); no messages is a ``ValueError``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agent.llm import ChatModel, ChatResult, LLMResponseError, Message
from agent.llm.base import validate_json
from agent.llm.scripted import ScriptedChatModel
from tests.agent.llm.test_openai_compat import FakeServer, completion, reply, sse
from tests.agent.llm.test_openai_compat import serve as serve  # noqa: F401 (fixture)

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}},
          "required": ["answer"], "additionalProperties": False}
ASK = [Message.system("You answer briefly."), Message.user("Say hello.")]
JSON_ASK = [Message.user('Reply with a JSON object with one key "answer": the word yes.')]

# what the fakes play, per call, for the sequence each test makes
TEXT = "Hello there."
JSON_TEXT = json.dumps({"answer": "yes"})


def _sse_for(text: str) -> Any:
    chunks = [json.dumps({"choices": [{"delta": {"content": w + " "}}]})
              for w in text.split()]
    return sse([*chunks, "[DONE]"])


_REAL: dict[str, ChatModel] = {}


def _real(kind: str) -> ChatModel:
    """The packaged SmolLM2 under a real backend, loaded once per test session."""
    if kind not in _REAL:
        if kind == "llamacpp":
            pytest.importorskip("xllamacpp")
            from agent.llm.llamacpp import LlamaCppChatModel

            _REAL[kind] = LlamaCppChatModel("smollm2-135m", n_ctx=2048)
        else:
            pytest.importorskip("gguf")
            from agent.llm.hf import TransformersChatModel

            _REAL[kind] = TransformersChatModel("smollm2-135m", timeout_s=60)
    return _REAL[kind]


BACKENDS = ["scripted", "openai",
            pytest.param("llamacpp", marks=pytest.mark.llm),
            pytest.param("transformers", marks=pytest.mark.llm)]


@pytest.fixture(params=BACKENDS)
def make(request: pytest.FixtureRequest, serve: Callable[..., FakeServer]  # noqa: F811
         ) -> Iterator[Callable[[list[str]], ChatModel]]:
    """make(script) -> a model; ``script`` lists what the fakes answer ("text", "stream",
    "json"); the real backends answer for themselves."""
    kind = request.param

    def factory(script: list[str]) -> ChatModel:
        if kind == "scripted":
            return ScriptedChatModel([JSON_TEXT if s == "json" else TEXT for s in script],
                                     name="scripted")
        if kind == "openai":
            from agent.llm.openai_compat import OpenAIChatModel

            steps = [_sse_for(TEXT) if s == "stream" else
                     reply(200, completion(JSON_TEXT if s == "json" else TEXT))
                     for s in script]
            fake = serve(*steps)
            return OpenAIChatModel(fake.url, "test-model", backoff_s=0.01, timeout_s=10)
        return _real(kind)

    yield factory


def test_generate_gives_text_and_usage(make: Callable[[list[str]], ChatModel]) -> None:
    model = make(["text"])
    assert isinstance(model, ChatModel) and isinstance(model.name, str) and model.name
    r = model.generate(ASK, max_tokens=16, temperature=0.0)
    assert isinstance(r, ChatResult) and isinstance(r.text, str) and r.text.strip()
    assert r.usage.seconds >= 0 and r.json is None


def test_stream_yields_pieces_and_stops_when_closed(make: Callable[[list[str]], ChatModel]
                                                    ) -> None:
    model = make(["stream", "stream", "text"])
    pieces = list(model.stream(ASK, max_tokens=16, temperature=0.0))
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces).strip()
    t0 = time.perf_counter()
    gen = model.stream(ASK, max_tokens=200, temperature=0.0)
    first = next(gen)
    gen.close()  # the person left: generation stops, the model stays usable
    assert first and time.perf_counter() - t0 < 60
    assert model.generate(ASK, max_tokens=8, temperature=0.0).text.strip()


def test_json_is_valid_under_the_schema_or_an_error(make: Callable[[list[str]], ChatModel]
                                                    ) -> None:
    model = make(["json"])
    try:
        r = model.generate(JSON_ASK, schema=SCHEMA, max_tokens=48, temperature=0.0)
    except LLMResponseError as e:  # allowed: said clearly, never invalid JSON returned
        assert "JSON" in str(e) or "schema" in str(e)
        return
    assert validate_json(r.json, SCHEMA) == [] and json.loads(r.text) == r.json


def test_no_messages_is_a_clear_error(make: Callable[[list[str]], ChatModel]) -> None:
    model = make([])
    with pytest.raises(ValueError, match="messages is empty"):
        model.generate([], max_tokens=4)
