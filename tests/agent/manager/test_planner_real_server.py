"""Plan-first tool calling over a real OpenAI-compatible server (marked ``llm``).

llama.cpp's own server on loopback with Qwen2.5-Coder-0.5B, reached through
``OpenAIChatModel`` as a hosted model would be: ``planner="auto"`` picks the model planner
for this backend. Whatever the small model plans, the turn completes with a trace of real tool
calls and a grounded reply (a poor plan falls back to the rule planner).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from agent.manager import Manager
from agent.manager.grounding import audit


@pytest.fixture(scope="module")
def qwen_server() -> Iterator[str]:
    xllamacpp = pytest.importorskip("xllamacpp")
    from agent.llm.gguf import resolve_model

    params = xllamacpp.CommonParams()
    params.model.path = str(resolve_model("qwen2.5-coder-0.5b"))
    params.n_ctx = 4096
    params.n_parallel = 1
    params.use_jinja = True  # the model's chat template: native tool calls
    params.sampling.seed = 1
    params.verbosity = -1
    server = xllamacpp.Server(params)
    yield server.listening_address
    del server


@pytest.mark.llm
@pytest.mark.slow
def test_model_planner_over_http(qwen_server: str, make_manager: Callable[..., Manager]
                                 ) -> None:
    from agent.llm.openai_compat import OpenAIChatModel

    llm = OpenAIChatModel(qwen_server, "qwen", timeout_s=120, max_retries=1)
    m = make_manager(llm)  # planner="auto"
    assert m.tool_planner is not None
    conv = m.start(None)
    r = m.respond(conv, "an action movie after 1980, no comedy")
    assert r["trace"], r
    assert r["action"] in ("recommend", "ask", "empty")
    tools = {s["tool"] for s in r["trace"]}
    assert tools <= {"filter_items", "search_items", "rank_items", "ask_attribute",
                     "lookup_item", "explain", "similar_items"} | {
        s["tool"] for s in r["trace"] if s.get("error")}
    for card in r["items"] or []:
        assert card["id"] in m.catalog.item_index
    assert audit(r["text"], "an action movie", set(r["grounded_items"]), m.catalog) == []
