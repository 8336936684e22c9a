"""Domain errors of ``recsys``: each message says what was wrong and what to do."""

from __future__ import annotations

from dataclasses import dataclass


class TastebudError(Exception):
    """Base of every error Tastebud reports to a person (the CLI prints the message)."""


class SpecError(TastebudError):
    """A catalog spec file is malformed or names something that does not exist."""


@dataclass(frozen=True)
class RowProblem:
    """One bad field in one row of a catalog file."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: field '{self.field}': {self.reason}"


class CatalogValidationError(TastebudError):
    """Rows of a catalog file failed validation; nothing was imported."""

    def __init__(self, problems: list[RowProblem], total: int | None = None,
                 note: str = "") -> None:
        self.problems = problems
        shown = "\n  ".join(str(p) for p in problems)
        more = total - len(problems) if total and total > len(problems) else 0
        extra = f"\n  ... and {more} more" if more else ""
        extra += f"\n  ({note})" if note else ""
        super().__init__(
            f"catalog not imported, {total or len(problems)} bad field(s):\n  {shown}{extra}\n"
            "Fix the file (or the spec's column mapping) and import again; "
            "the database was not changed."
        )


class UnknownNameError(TastebudError, KeyError):
    """A registry lookup failed; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        self.kind, self.name, self.valid = kind, name, valid
        super().__init__(f"unknown {kind} '{name}'; valid: {', '.join(sorted(valid)) or '(none)'}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class CatalogNotFoundError(TastebudError):
    """The catalog is not imported into the database."""


class DatasetError(TastebudError):
    """A dataset could not be found, fetched or verified."""


class ChecksumError(DatasetError):
    """A file's sha256 does not match the expected value."""


class UnknownUserError(TastebudError, KeyError):
    """A user id that the catalog or model does not know."""

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownItemError(TastebudError, KeyError):
    """An item id that the catalog does not know."""

    def __str__(self) -> str:
        return str(self.args[0])


class ModelError(TastebudError):
    """A model is missing, not fitted, corrupt, or trained on another catalog."""
