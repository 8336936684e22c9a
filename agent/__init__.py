"""LLM dialogue manager, tools, policies and user simulators (see ARCHITECTURE.md)."""
