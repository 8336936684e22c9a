"""The tool contract: a name, a description, JSON-schema inputs and a pure ``run``.

A tool returns JSON-able data with item ids and titles, never prose (the manager writes the
prose). Bad arguments are the model's fault, not ours: they raise ``ToolError``, which the
executor (``agent.tools.execute``) hands back to the model as an ``{"error": ...}``
observation; any other exception is a bug and propagates.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from recsys.errors import TastebudError

if TYPE_CHECKING:
    from agent.tools.bus import ToolContext

_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class ToolError(TastebudError):
    """The model called a tool wrongly; the message says what is valid."""


class Tool(ABC):
    """One tool; subclasses set ``name``, ``description``, ``inputs`` and implement ``run``."""

    name: ClassVar[str]
    description: ClassVar[str]
    inputs: ClassVar[dict[str, Any]]  # JSON schema of the arguments, type "object"
    moves_bus: ClassVar[bool] = False  # True when run() replaces the candidate bus

    def __init__(self) -> None:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        cls = type(self).__name__
        name = getattr(self, "name", None)
        if not isinstance(name, str) or not _NAME.match(name):
            raise TypeError(f"{cls}.name must be snake_case, got {name!r}")
        desc = getattr(self, "description", None)
        if not isinstance(desc, str) or not desc.strip():
            raise TypeError(f"{cls}.description must be a non-empty string")
        schema = getattr(self, "inputs", None)
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise TypeError(f"{cls}.inputs must be a JSON schema of type 'object'")
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as e:
            raise TypeError(f"{cls}.inputs is not a valid JSON schema: {e.message}") from None
        self._validator = Draft202012Validator(schema)

    @abstractmethod
    def run(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        """The result for validated ``args`` (defaults filled in); may update ``ctx.bus``."""

    def validate(self, args: Any) -> dict[str, Any]:
        """``args`` checked against ``inputs`` with top-level defaults filled; else ToolError."""
        if args is None:
            args = {}
        if isinstance(args, str):  # models often send the arguments as a JSON string
            import json

            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as e:
                raise ToolError(f"{self.name}: arguments are not valid JSON ({e.msg})") from None
        errors = sorted(self._validator.iter_errors(args), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.path) or "arguments"
            props = ", ".join(self.inputs.get("properties", {})) or "none"
            raise ToolError(f"{self.name}: {where}: {first.message} (arguments: {props})")
        out = dict(args)
        for key, spec in self.inputs.get("properties", {}).items():
            if key not in out and "default" in spec:
                out[key] = spec["default"]
        return out

    def invoke(self, args: Any, ctx: ToolContext) -> dict[str, Any]:
        """Validate, run and record the call in the bus log; ToolError propagates."""
        t0 = time.perf_counter()
        try:
            clean = self.validate(args)
            result = self.run(clean, ctx)
        except ToolError as e:
            ctx.bus.record(self.name, args, 0, (time.perf_counter() - t0) * 1e3, error=str(e))
            raise
        size = len(result["items"]) if isinstance(result.get("items"), list) else 1
        ctx.bus.record(self.name, clean, size, (time.perf_counter() - t0) * 1e3)
        return result

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI function-tool spec (also what llama.cpp and vLLM servers accept)."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description,
                             "parameters": self.inputs}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
