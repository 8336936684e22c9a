"""The LLM dialogue manager: turns of a conversation over recommender tools, grounded replies."""

from agent.manager.conversation import Constraints, Conversation
from agent.manager.events import EVENT_TYPES, Event
from agent.manager.manager import EmptyMessageError, Manager

__all__ = ["EVENT_TYPES", "Constraints", "Conversation", "EmptyMessageError", "Event",
           "Manager"]
