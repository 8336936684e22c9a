"""Grounded understanding: one user message -> a structured ``Request``.

``understand(text, lexicon_for(catalog), llm=None, shown=None)`` runs catalog-grounded rules
first and, when given a chat model, lets the LLM fill only the slots the rules left open.
"""

from agent.nlu.hybrid import understand
from agent.nlu.lexicon import Lexicon, lexicon_for
from agent.nlu.llm import llm_extract
from agent.nlu.request import Request, request_schema
from agent.nlu.rules import extract

__all__ = ["Lexicon", "Request", "extract", "lexicon_for", "llm_extract", "request_schema",
           "understand"]
