"""The structured request extracted from one user message, and its JSON schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["recommend", "refine", "feedback", "why", "fact", "chitchat"]
KINDS: tuple[str, ...] = ("recommend", "refine", "feedback", "why", "fact", "chitchat")
FEEDBACK_VALUES: tuple[str, ...] = ("like", "dislike", "seen")


@dataclass
class Request:
    """What the user asked for in one turn; attribute slots are keyed by catalog field name.

    ``refs`` are 1-based positions in the list on screen (-1: "the last one" when the caller
    did not say how many are shown). ``feedback`` keys are positions as strings, a catalog
    title for a named item, or "0" for the item in focus ("loved it"); values like/dislike/seen.
    """

    kind: str = "recommend"
    include: dict[str, list[str]] = field(default_factory=dict)
    exclude: dict[str, list[str]] = field(default_factory=dict)
    year_min: int | None = None
    year_max: int | None = None
    titles: list[str] = field(default_factory=list)
    refs: list[int] = field(default_factory=list)
    feedback: dict[str, str] = field(default_factory=dict)
    free_text: str | None = None
    unlike: list[str] = field(default_factory=list)  # "nothing like Titanic": push away
    ranges: dict[str, list[float | None]] = field(default_factory=dict)  # runtime [lo, hi]
    audience: str | None = None  # "for my 8-year-old": "child"

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of the output contract (empty slots kept, so it is stable)."""
        return {
            "kind": self.kind,
            "include": {k: list(v) for k, v in self.include.items() if v},
            "exclude": {k: list(v) for k, v in self.exclude.items() if v},
            "year_min": self.year_min, "year_max": self.year_max,
            "titles": list(self.titles), "refs": list(self.refs),
            "feedback": dict(self.feedback), "free_text": self.free_text or None,
            # only when said: older clients and the LLM's schema know the nine slots above
            **({"unlike": list(self.unlike)} if self.unlike else {}),
            **({"ranges": {k: list(v) for k, v in self.ranges.items()}} if self.ranges else {}),
            **({"audience": self.audience} if self.audience else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Request:
        """Build from the contract's JSON; missing slots are empty."""
        return cls(
            kind=str(data.get("kind") or "recommend"),
            include={k: list(v) for k, v in (data.get("include") or {}).items()},
            exclude={k: list(v) for k, v in (data.get("exclude") or {}).items()},
            year_min=data.get("year_min"), year_max=data.get("year_max"),
            titles=list(data.get("titles") or []),
            refs=[int(r) for r in data.get("refs") or []],
            feedback={str(k): str(v) for k, v in (data.get("feedback") or {}).items()},
            free_text=data.get("free_text") or None,
            unlike=list(data.get("unlike") or []),
            ranges={k: list(v) for k, v in (data.get("ranges") or {}).items()},
            audience=data.get("audience") or None,
        )

    def add(self, slot: str, fld: str, value: str) -> None:
        """Add one attribute value to include/exclude, keeping order and no duplicates."""
        bucket = self.include if slot == "include" else self.exclude
        values = bucket.setdefault(fld, [])
        if value not in values:
            values.append(value)


def request_schema(fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """JSON schema of a Request; with ``fields`` (name -> allowed values) values become enums.

    Enums turn into a llama.cpp grammar, so the model can only write catalog values; very
    large vocabularies (thousands of tags) are left as free strings and grounded afterwards.
    """
    fields = fields or {}

    def attrs() -> dict[str, Any]:
        props: dict[str, Any] = {}
        for name, values in fields.items():
            item: dict[str, Any] = {"type": "string"}
            if 0 < len(values) <= 64:
                item["enum"] = list(values)
            props[name] = {"type": "array", "items": item, "maxItems": 5}
        out: dict[str, Any] = {"type": "object", "properties": props}
        if props:
            out["additionalProperties"] = False
        return out

    year = {"type": ["integer", "null"], "minimum": 1800, "maximum": 2100}
    return {
        "title": "Request",
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": list(KINDS)},
            "include": attrs(),
            "exclude": attrs(),
            "year_min": year,
            "year_max": year,
            "titles": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
            "refs": {"type": "array", "items": {"type": "integer", "minimum": 1,
                                                "maximum": 50}, "maxItems": 5},
            "feedback": {"type": "object",
                         "additionalProperties": {"type": "string",
                                                  "enum": list(FEEDBACK_VALUES)}},
            "free_text": {"type": ["string", "null"]},
        },
        "required": ["kind", "include", "exclude", "year_min", "year_max", "titles", "refs",
                     "feedback", "free_text"],
        "additionalProperties": False,
    }
