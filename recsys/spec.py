"""Declarative catalog specs: where the files are, their format, and which column is what.

A spec is a TOML (or YAML) file in ``data/catalogs/``; a new catalog needs only a new spec.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from recsys.errors import SpecError

Format = Literal["csv", "tsv", "psv", "dsv", "jsonl", "json_map"]
_DELIMITERS = {"csv": ",", "tsv": "\t", "psv": "|"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileSpec(_Strict):
    """One source file and how to read it."""

    file: str
    format: Format = "csv"
    delimiter: str | None = Field(None, description="Only for format 'dsv', e.g. '::'.")
    encoding: str = "utf-8"
    header: bool = True
    columns: list[str] | None = Field(None, description="Column names when header = false.")

    @model_validator(mode="after")
    def _check(self) -> FileSpec:
        if self.format == "dsv" and not self.delimiter:
            raise ValueError("format 'dsv' needs a delimiter, e.g. delimiter = '::'")
        if self.format in ("csv", "tsv", "psv", "dsv") and not self.header and not self.columns:
            raise ValueError("header = false needs columns = [...] naming every column")
        try:
            "".encode(self.encoding)
        except LookupError:
            raise ValueError(f"unknown encoding '{self.encoding}'") from None
        return self

    @property
    def sep(self) -> str:
        return self.delimiter or _DELIMITERS.get(self.format, ",")


class YearSpec(_Strict):
    """Year from a column, optionally extracted with a regex's first group (``Heat (1995)``)."""

    column: str
    pattern: str | None = None

    @field_validator("pattern")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                if re.compile(v).groups < 1:
                    raise ValueError("year pattern needs one capture group, e.g. '\\((\\d{4})\\)'")
            except re.error as e:
                raise ValueError(f"year pattern is not a valid regex: {e}") from None
        return v


class AttributeColumn(_Strict):
    """An attribute field held in a column of the items file."""

    column: str
    split: str | None = Field(None, description="Separator of list values, e.g. '|'.")
    lowercase: bool = False
    ignore: list[str] = Field(default_factory=list, description="Values meaning 'none'.")


class AttributeFile(FileSpec):
    """An attribute field held in a separate file of (item, value) rows, e.g. MovieLens tags."""

    field: str
    item: str
    value: str
    split: str | None = None
    lowercase: bool = False
    ignore: list[str] = Field(default_factory=list)


class ItemsSpec(FileSpec):
    """The items file."""

    id: str
    title: str | None = None
    title_template: str | None = Field(None, description="When no title column: 'Artist {id}'.")
    year: str | YearSpec | None = None
    text: str | None = None
    attributes: dict[str, AttributeColumn] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _title(self) -> ItemsSpec:
        if not self.title and not self.title_template:
            raise ValueError("items need a title column or a title_template such as 'Item {id}'")
        return self


class InteractionsSpec(FileSpec):
    """A file of user-item events; ``split`` labels all its rows (e.g. LastFM* train/test)."""

    user: str
    item: str
    rating: str | None = None
    weight: str | None = None
    timestamp: str | None = None
    split: str | None = None


class UserLinksSpec(FileSpec):
    """User-user relations, e.g. LastFM* friendships."""

    kind: str
    user: str
    other: str


class DialoguesSpec(_Strict):
    """Real recommendation dialogues (ReDial format) about this catalog's items: what human
    recommenders suggested and which films they name together shape conversational ranking."""

    dataset: str = Field(description="Known dataset holding the dialogue files.")
    files: list[str] = Field(min_length=1, description="ReDial-format .jsonl files in it.")
    year_tolerance: int = Field(1, ge=0, le=5, description="Years a ReDial name may be off.")


class CatalogSpec(_Strict):
    """A whole catalog."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    title: str = ""
    dataset: str | None = Field(None, description="Known dataset whose fetched files are read.")
    root: str | None = Field(None, description="Directory of the files, relative to the spec.")
    license: str = ""
    items: ItemsSpec
    attributes: list[AttributeFile] = Field(default_factory=list)
    interactions: list[InteractionsSpec] = Field(default_factory=list)
    user_links: list[UserLinksSpec] = Field(default_factory=list)
    dialogues: DialoguesSpec | None = None

    @model_validator(mode="after")
    def _unique_fields(self) -> CatalogSpec:
        names = list(self.items.attributes) + [a.field for a in self.attributes]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"attribute fields defined twice: {sorted(dupes)}")
        return self

    def files(self) -> list[FileSpec]:
        return [self.items, *self.attributes, *self.interactions, *self.user_links]


def load_spec(path: Path) -> CatalogSpec:
    """Parse and validate a spec file (.toml, .yaml or .yml)."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"catalog spec '{path}' not found; specs live in data/catalogs/")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            raw: Any = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text)
        else:
            raise SpecError(f"{path}: a catalog spec must be .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, ValueError) as e:
        raise SpecError(f"{path}: not valid {path.suffix[1:].upper()}: {e}") from None
    try:
        return CatalogSpec.model_validate(raw)
    except ValidationError as e:
        lines = [f"  {'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
                 for err in e.errors()]
        raise SpecError(f"{path}: invalid catalog spec:\n" + "\n".join(lines)) from None


def spec_digest(spec: CatalogSpec) -> str:
    """Hash of the spec's meaning (not its formatting)."""
    # dialogues feed the models, not the stored catalog: they do not change its fingerprint
    canon = json.dumps(spec.model_dump(mode="json", exclude={"dialogues"}), sort_keys=True)
    return hashlib.sha256(canon.encode()).hexdigest()
