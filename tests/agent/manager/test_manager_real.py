"""The manager with the real default local model (marked ``llm``): a short conversation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.manager import Manager
from agent.manager.grounding import audit


@pytest.mark.llm
def test_real_model_conversation_stays_grounded(make_manager: Callable[..., Manager]) -> None:
    pytest.importorskip("xllamacpp")
    from agent.llm.llamacpp import LlamaCppChatModel

    llm = LlamaCppChatModel("qwen2.5-coder-0.5b", n_ctx=2048).load()
    try:
        m = make_manager(llm, llm_nlu=True)
        conv = m.start(None)
        for text in ("an action movie after 1980, please", "no comedy", "why number 2?",
                     "I loved the first one", "anything else?"):
            events = list(m.turn(conv, text))
            assert events[-1].type == "done", events[-1]
            done = events[-1].data
            streamed = "".join(e.data["delta"] for e in events if e.type == "text")
            assert streamed.strip() == done["text"] and done["text"]
            # whatever the model wrote, what reached the user names only returned items
            assert audit(done["text"], text, set(done["grounded_items"]), m.catalog) == [], (
                text, done["text"], done["problems"])
            for card in next((e.data["items"] for e in events if e.type == "items"), []):
                assert card["id"] in m.catalog.item_index
    finally:
        llm.close()
