"""The hybrid with the real default local model (marked ``llm``; a few seconds per call)."""

from __future__ import annotations

import pytest

from agent.nlu.hybrid import understand
from agent.nlu.lexicon import Lexicon
from agent.nlu.request import KINDS


@pytest.mark.llm
def test_hybrid_with_default_model(films: Lexicon) -> None:
    pytest.importorskip("xllamacpp")
    from agent.llm.llamacpp import LlamaCppChatModel

    llm = LlamaCppChatModel("qwen2.5-coder-0.5b", n_ctx=2048).load()
    # grounded rule slots survive whatever the model says
    req = understand("90s comedy like Toy Story, no romance", films, llm=llm, shown=5)
    assert req.include == {"genre": ["Comedy"]} and req.exclude == {"genre": ["Romance"]}
    assert (req.year_min, req.year_max) == (1990, 1999) and req.titles == ["Toy Story (1995)"]
    # unsure turns go to the model; its answer is still a grounded request
    for text in ("it's raining, I could use something spooky", "what a long week it has been"):
        req = understand(text, films, llm=llm, shown=5)
        assert req.kind in KINDS
        for bucket in (req.include, req.exclude):
            for fld, values in bucket.items():
                assert set(values) <= set(films.fields[fld])
        assert all(t in films.titles for t in req.titles)
    llm.close()
