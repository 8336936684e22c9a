"""The OpenAI-compatible backend: retries, timeouts and parsing against a loopback http.server,
plus (marked ``llm``) a real llama.cpp server with SmolLM2."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agent.llm import LLMResponseError, LLMTimeoutError, LLMUnavailableError, Message, ToolCall
from agent.llm.openai_compat import OpenAIChatModel

Step = Callable[[BaseHTTPRequestHandler], None]


def completion(content: str | None = "hi", tool_calls: list[dict[str, Any]] | None = None,
               ) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 2}}


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Step:
    def step(h: BaseHTTPRequestHandler) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        h.send_response(status)
        for k, v in {"Content-Type": "application/json", **(headers or {})}.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
    return step


def sleep(seconds: float) -> Step:
    def step(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        reply(200, completion("late"))(h)
    return step


def sse(events: list[str]) -> Step:
    def step(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        for e in events:
            h.wfile.write(f"data: {e}\n\n".encode())
            h.wfile.flush()
    return step


@dataclass
class FakeServer:
    """A loopback OpenAI-compatible server that plays one step per request."""

    steps: list[Step]
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeServer]]:
    servers: list[ThreadingHTTPServer] = []

    def start(*steps: Step) -> FakeServer:
        fake = FakeServer(list(steps))

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.requests.append({"path": self.path, **json.loads(body)})
                fake.headers.append(dict(self.headers))
                fake.steps.pop(0)(self)

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                return

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(httpd)
        fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        return fake

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def model(url: str, **kw: Any) -> OpenAIChatModel:
    return OpenAIChatModel(url, "test-model", **{"backoff_s": 0.01, "timeout_s": 5, **kw})


def test_plain_chat_and_request_shape(serve: Callable[..., FakeServer]) -> None:
    fake = serve(reply(200, completion("hello there")))
    result = model(fake.url, api_key="sk-1").generate([Message.system("s"), Message.user("hi")],
                                                      max_tokens=9, temperature=0.0)
    assert result.text == "hello there" and result.usage.prompt_tokens == 7
    req = fake.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["model"] == "test-model"
    assert req["messages"] == [{"role": "system", "content": "s"},
                               {"role": "user", "content": "hi"}]
    assert req["max_tokens"] == 9 and req["temperature"] == 0.0 and req["stream"] is False
    assert fake.headers[0]["Authorization"] == "Bearer sk-1"


def test_bare_base_url_gets_v1(serve: Callable[..., FakeServer]) -> None:
    fake = serve(reply(200, completion()))
    model(fake.url.removesuffix("/v1")).generate([Message.user("x")])
    assert fake.requests[0]["path"] == "/v1/chat/completions"


def test_retries_503_then_succeeds(serve: Callable[..., FakeServer]) -> None:
    fake = serve(reply(503, {"error": {"message": "loading model"}}), reply(200, completion("ok")))
    assert model(fake.url, max_retries=2).generate([Message.user("x")]).text == "ok"
    assert len(fake.requests) == 2


def test_retries_429_honouring_retry_after(serve: Callable[..., FakeServer]) -> None:
    fake = serve(reply(429, {"error": "slow down"}, {"Retry-After": "0"}), reply(200, completion()))
    model(fake.url, backoff_s=10).generate([Message.user("x")])  # Retry-After 0 beats 10 s
    assert len(fake.requests) == 2


def test_gives_up_after_retries_with_a_clear_message(serve: Callable[..., FakeServer]) -> None:
    fake = serve(*[reply(500, {"error": {"message": "boom"}})] * 3)
    with pytest.raises(LLMUnavailableError, match=r"after 3 tries: HTTP 500: boom"):
        model(fake.url, max_retries=2).generate([Message.user("x")])


def test_4xx_is_not_retried(serve: Callable[..., FakeServer]) -> None:
    fake = serve(reply(401, {"error": {"message": "bad key"}}), reply(200, completion()))
    with pytest.raises(LLMResponseError, match=r"HTTP 401\): bad key; check TASTEBUD_LLM_API_KEY"):
        model(fake.url, max_retries=3).generate([Message.user("x")])
    assert len(fake.requests) == 1


def test_connection_refused_says_how_to_fix() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(LLMUnavailableError) as err:
        model(url, max_retries=1).generate([Message.user("x")])
    msg = str(err.value)
    assert f"could not reach the LLM at {url}/chat/completions after 2 tries" in msg
    assert "TASTEBUD_LLM_BASE_URL" in msg


def test_timeout(serve: Callable[..., FakeServer]) -> None:
    fake = serve(sleep(1.0))
    start = time.perf_counter()
    with pytest.raises(LLMTimeoutError, match="within 0.2s"):
        model(fake.url, timeout_s=0.2, max_retries=3).generate([Message.user("x")])
    assert time.perf_counter() - start < 0.9  # not retried: a timeout would only repeat


@pytest.mark.parametrize("body", ["not json", {"choices": []}, {"choices": [{"message": 3}]}])
def test_malformed_replies(serve: Callable[..., FakeServer], body: Any) -> None:
    fake = serve(reply(200, body))
    with pytest.raises(LLMResponseError):
        model(fake.url).generate([Message.user("x")])


def test_tool_calls_parsed_and_sent_back(serve: Callable[..., FakeServer]) -> None:
    call = {"id": "call_9", "type": "function",
            "function": {"name": "search_items", "arguments": '{"query": "alien"}'}}
    fake = serve(reply(200, completion(None, [call])), reply(200, completion("done")))
    tools = [{"type": "function", "function": {"name": "search_items", "parameters": {
        "type": "object", "properties": {"query": {"type": "string"}}}}}]
    llm = model(fake.url)
    result = llm.generate([Message.user("like Alien")], tools=tools)
    assert result.tool_calls == (ToolCall("call_9", "search_items", {"query": "alien"}),)
    assert fake.requests[0]["tools"] == tools
    llm.generate([Message.user("like Alien"), Message.assistant("", result.tool_calls),
                  Message.tool("call_9", '{"items": []}', name="search_items")])
    sent = fake.requests[1]["messages"]
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == '{"query": "alien"}'
    assert sent[2] == {"role": "tool", "content": '{"items": []}', "tool_call_id": "call_9",
                       "name": "search_items"}


def test_bad_tool_arguments_are_a_response_error(serve: Callable[..., FakeServer]) -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    fake = serve(reply(200, completion(None, [call])))
    with pytest.raises(LLMResponseError, match="not JSON"):
        model(fake.url).generate([Message.user("x")], tools=[{"function": {"name": "f"}}])


SCHEMA = {"type": "object", "properties": {"year": {"type": "integer"}}, "required": ["year"]}


def test_json_schema_sent_and_reply_validated(serve: Callable[..., FakeServer]) -> None:
    fake = serve(reply(200, completion('{"year": 1979}')), reply(200, completion('{"yr": 1}')))
    llm = model(fake.url)
    assert llm.generate([Message.user("x")], schema=SCHEMA).json == {"year": 1979}
    fmt = fake.requests[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == SCHEMA
    with pytest.raises(LLMResponseError, match="'year' is a required property"):
        llm.generate([Message.user("x")], schema=SCHEMA)


def test_streaming_sse(serve: Callable[..., FakeServer]) -> None:
    chunk = lambda t: json.dumps({"choices": [{"delta": {"content": t}}]})  # noqa: E731
    fake = serve(sse([chunk("Al"), chunk("ien"), json.dumps({"choices": [{"delta": {}}]}),
                      "[DONE]"]))
    assert list(model(fake.url).stream([Message.user("x")])) == ["Al", "ien"]
    assert fake.requests[0]["stream"] is True


def test_streaming_error_event(serve: Callable[..., FakeServer]) -> None:
    fake = serve(sse([json.dumps({"error": {"message": "context full"}})]))
    with pytest.raises(LLMResponseError, match="context full"):
        list(model(fake.url).stream([Message.user("x")]))


# --------------------------------------------------------------------------- real server


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """xllamacpp's loopback OpenAI-compatible server with SmolLM2-135M (98 MB, fast)."""
    xllamacpp = pytest.importorskip("xllamacpp")
    from agent.llm.gguf import MODELS, locate_parts

    params = xllamacpp.CommonParams()
    params.model.path = str(locate_parts(MODELS["smollm2-135m"])[0])
    params.n_ctx = 1024
    params.n_parallel = 1
    params.sampling.seed = 1
    server = xllamacpp.Server(params)
    yield server.listening_address
    del server


@pytest.mark.llm
def test_real_llama_server_chat_stream_and_schema(llama_server: str) -> None:
    llm = OpenAIChatModel(llama_server, "smollm2", timeout_s=60, max_retries=1)
    result = llm.generate([Message.user("Say hello.")], max_tokens=8, temperature=0)
    assert result.text.strip() and result.usage.completion_tokens <= 8
    chunks = list(llm.stream([Message.user("Count: one, two,")], max_tokens=8, temperature=0))
    assert len(chunks) >= 2 and "".join(chunks).strip()
    schema = {"type": "object", "additionalProperties": False, "required": ["mood"],
              "properties": {"mood": {"type": "string", "enum": ["happy", "scared", "bored"]}}}
    result = llm.generate([Message.user("I watched Alien alone at night. Mood as JSON?")],
                          schema=schema, max_tokens=24, temperature=0)
    assert result.json is not None and result.json["mood"] in {"happy", "scared", "bored"}


def test_tool_call_written_as_bare_json_is_recovered(serve: Callable[..., FakeServer]) -> None:
    # Small local models often skip the template's <tool_call> tags and answer fenced JSON.
    text = '```json\n{"name": "search_items", "arguments": {"query": "Alien"}}\n```'
    fake = serve(reply(200, completion(text)), reply(200, completion('{"name": "other"}')))
    tools = [{"type": "function", "function": {"name": "search_items", "parameters": {}}}]
    result = model(fake.url).generate([Message.user("x")], tools=tools)
    assert result.tool_calls == (ToolCall("call_0", "search_items", {"query": "Alien"}),)
    assert result.text == ""
    result = model(fake.url).generate([Message.user("x")], tools=tools)
    assert result.tool_calls == () and result.text == '{"name": "other"}'  # unknown tool: text
