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

Format = Literal["csv", "tsv", "psv", "dsv", "jsonl", "json", "json_map", "sqlite"]
# what a field is: understanding, filters, cards and the semantic index treat each kind its way
Kind = Literal["categorical", "people", "keywords", "text", "number"]
OnUnknown = Literal["refuse", "skip"]
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
    quoting: Literal["standard", "none"] = Field(
        "standard", description="'none': quote characters are data (Last.fm's \"Weird Al\").")
    escape: str | None = Field(None, max_length=1, description="Escape character, e.g. '\\'.")
    dataset: str | None = Field(None, description="Known dataset holding this file, when it is "
                                                  "not the catalog's own (side data).")
    table: str | None = Field(None, description="Only for format 'sqlite': the table to read.")
    repair: Literal["none", "mojibake"] = Field(
        "none", description="'mojibake': text that was UTF-8 decoded as Latin-1 and saved "
                            "again (\"TÃ©a Leoni\") is read as meant (\"Téa Leoni\").")

    @model_validator(mode="after")
    def _check(self) -> FileSpec:
        if self.format == "sqlite" and not self.table:
            raise ValueError("format 'sqlite' needs table = '...'")
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


class FieldMeta(_Strict):
    """What a field is, for everything downstream of the import."""

    kind: Kind = "categorical"
    filterable: bool | None = Field(None, description="Hard filter when asked for; default: "
                                                      "categorical and people fields.")
    label: str | None = Field(None, description="How cards and answers name it ('directed by').")
    unit: str | None = Field(None, description="Numbers only, e.g. 'minutes'.")
    embed: bool = Field(True, description="Whether its values go into the text the semantic "
                                          "index embeds.")
    min_support: int = Field(1, ge=1, description="Values given fewer times are dropped.")
    support: Literal["weight", "users"] = Field(
        "weight", description="Count support by summed weight or by distinct users (files with "
                              "a user column).")

    @property
    def hard(self) -> bool:
        """A hard filter when asked for: people by default; a categorical field when the spec
        says so (tags are categorical too, and a sparse tag must rank, not filter)."""
        return self.filterable if self.filterable is not None else self.kind == "people"


class AttributeColumn(FieldMeta):
    """A field held in a column of the items file (or of a joined file), or in flag columns."""

    column: str | None = None
    flags: list[str] | None = Field(None, description="0/1 columns, one per value (MovieLens "
                                                      "100K genres): the value is the column.")
    split: str | None = Field(None, description="Separator of list values, e.g. '|'.")
    lowercase: bool = False
    ignore: list[str] = Field(default_factory=list, description="Values meaning 'none'.")
    max_values: int | None = Field(None, ge=1, description="Keep the first N list values "
                                                          "(billing order for cast).")
    member: str | None = Field(None, description="The cell is a JSON (or Python literal) list "
                                                 "of objects; take this member of each "
                                                 "(TMDb keywords: 'name').")

    @model_validator(mode="after")
    def _source(self) -> AttributeColumn:
        if (self.column is None) == (self.flags is None):
            raise ValueError("give either column = '...' or flags = [...]")
        if self.kind in ("text", "number") and (self.flags or self.split):
            raise ValueError(f"a {self.kind} field holds one value: no flags or split")
        return self

    def columns(self) -> list[str]:
        return list(self.flags) if self.flags is not None else [self.column or ""]


class LookupSpec(FileSpec):
    """Values named by id, resolved through another file (Last.fm tag ids -> tags.dat)."""

    key: str
    value: str


class AttributeFile(FileSpec, FieldMeta):
    """An attribute field held in a separate file of (item, value) rows, e.g. MovieLens tags."""

    field: str
    item: str
    value: str
    user: str | None = Field(None, description="Who gave the value (for support = 'users').")
    lookup: LookupSpec | None = None
    split: str | None = None
    lowercase: bool = False
    ignore: list[str] = Field(default_factory=list)
    on_unknown: OnUnknown = Field("refuse", description="Rows naming an item the items file "
                                                        "lacks: refuse the import, or skip them "
                                                        "(counted in the summary).")

    @model_validator(mode="after")
    def _users(self) -> AttributeFile:
        if self.support == "users" and not self.user:
            raise ValueError("support = 'users' needs user = '<column>'")
        return self


class KeySpec(FileSpec):
    """An external id per item (an IMDb id through MovieLens links.csv), for joins."""

    name: str
    item: str
    key: str


Normalize = Literal["none", "digits", "lower"]


class TitleMatchSpec(_Strict):
    """Side data without a shared id, matched by normalised title and year to the items' own
    titles and years ("Matrix, The (1999)" is "The Matrix", 1999); only unambiguous pairs."""

    title: str = Field(description="Column of the side file holding the title.")
    year: str | YearSpec | None = Field(None, description="Its year column (or column and "
                                                          "pattern); none: title alone.")
    year_tolerance: int = Field(1, ge=0, le=2, description="Years a match may be off, only "
                                                           "when no same-year match exists "
                                                           "and the pair is unambiguous.")


class JoinSpec(FileSpec):
    """Side data keyed by item id, by an external key, or matched by title and year: adds
    fields to the items. Joins are read in order; for one field, the first join that has a
    value for an item wins."""

    file: str = Field("", description="The file; or files = [...] read as one.")
    files: list[str] = Field(default_factory=list, description="Several files of one format "
                                                               "read as one (films by decade).")
    key: str | None = Field(None, description="Column of this file holding the key.")
    via: str | None = Field(None, description="Name of a [[keys]] entry; none: the item id.")
    normalize: Normalize = Field("none", description="'digits': tt0114709, 0114709 and 114709 "
                                                      "are one key.")
    match: TitleMatchSpec | None = Field(None, description="Instead of a key: match rows to "
                                                           "items by title and year.")
    fields: dict[str, AttributeColumn] = Field(min_length=1)

    @model_validator(mode="after")
    def _source(self) -> JoinSpec:
        if bool(self.file) == bool(self.files):
            raise ValueError("give either file = '...' or files = [...]")
        if (self.key is None) == (self.match is None):
            raise ValueError("give either key = '<column>' or match = { title = '<column>', "
                             "year = '<column>' }")
        if self.match is not None and (self.via or self.normalize != "none"):
            raise ValueError("match joins by title: via and normalize belong to key joins")
        return self

    @property
    def source(self) -> str:
        """How messages name this join: its file, or its first file and how many more."""
        more = len(self.files) - 1
        return self.file or (self.files[0] + (f" (+{more} more)" if more else ""))

    def parts(self) -> list[JoinSpec]:
        """One spec per file read."""
        if not self.files:
            return [self]
        return [self.model_copy(update={"file": f, "files": []}) for f in self.files]


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
    transform: Literal["none", "binary", "log1p", "cap"] = Field(
        "none", description="Of the weight: raw play counts train worse than log1p.")
    cap: float | None = Field(None, gt=0, description="For transform = 'cap'.")
    rating_scale: tuple[float, float] | None = Field(
        None, description="[lowest, highest]: a rating outside it is a row error.")
    rescale_to: tuple[float, float] | None = Field(
        None, description="Map rating_scale linearly onto this one (MovieTweetings' 0-10 "
                          "onto MovieLens' 0.5-5), so one threshold means one thing.")
    via: str | None = Field(None, description="Name of a [[keys]] entry: the item column holds "
                                              "that external id (an IMDb id).")
    normalize: Literal["none", "digits", "lower"] = "none"
    user_prefix: str = Field("", description="Prefix for this file's user ids, so users of "
                                             "another source never merge with the catalog's.")
    on_unknown: OnUnknown = "refuse"

    @model_validator(mode="after")
    def _transform(self) -> InteractionsSpec:
        if self.rescale_to and not self.rating_scale:
            raise ValueError("rescale_to needs rating_scale = [lowest, highest]")
        if (self.transform == "cap") != (self.cap is not None):
            raise ValueError("transform = 'cap' and cap = N go together")
        if self.rating_scale and not self.rating:
            raise ValueError("rating_scale needs rating = '<column>'")
        if self.rating_scale and self.rating_scale[0] >= self.rating_scale[1]:
            raise ValueError("rating_scale is [lowest, highest] with lowest < highest")
        return self


class UserLinksSpec(FileSpec):
    """User-user relations, e.g. LastFM* friendships."""

    kind: str
    user: str
    other: str


class UsersSpec(FileSpec):
    """Attributes of the catalog's users (MovieLens 100K u.user: age, gender, occupation)."""

    id: str
    attributes: dict[str, AttributeColumn] = Field(min_length=1)


class SplitSpec(_Strict):
    """Train/valid/test labels for catalogs whose files carry none."""

    by: Literal["time", "ratio"] = Field(description="'time': each user's latest events are "
                                                     "test; 'ratio': a seeded random share.")
    test: float = Field(0.2, gt=0, lt=1)
    valid: float = Field(0.0, ge=0, lt=1)
    seed: int = 0

    @model_validator(mode="after")
    def _sum(self) -> SplitSpec:
        if self.test + self.valid >= 1:
            raise ValueError("test + valid must leave some training events")
        return self


class WordsSpec(_Strict):
    """The words this catalog's users use for its items, and filler to ignore in requests."""

    item: str = "item"
    items: str = "items"
    filler: list[str] = Field(default_factory=list, description="Other words for the items, "
                                                              "ignored in requests: 'film'.")
    stop: list[str] = Field(default_factory=list, description="Words of talk about items that "
                                                            "are never a wish on their own: a "
                                                            "tag that is one ('plot') is not "
                                                            "matched.")
    years: bool = Field(True, description="Whether decades and years mean anything here.")
    example: str = Field("", max_length=80, description="A request to show as the chat's "
                                                      "placeholder, in this catalog's terms.")


class AudienceSpec(_Strict):
    """Who an item suits: "for my 8-year-old" keeps only items passing this rule."""

    field: str = Field(description="Field holding a rating such as MPAA certification.")
    allow: list[str] = Field(min_length=1, description="Values that suit this audience.")
    unrated: dict[str, list[str]] = Field(
        default_factory=dict, description="An item without the field passes only with one of "
                                          "these values, e.g. genre = ['Children'].")
    exclude: dict[str, list[str]] = Field(default_factory=dict,
                                          description="Values that rule an item out.")


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
    keys: list[KeySpec] = Field(default_factory=list)
    joins: list[JoinSpec] = Field(default_factory=list)
    users: UsersSpec | None = None
    split: SplitSpec | None = None
    words: WordsSpec = Field(default_factory=WordsSpec)
    credits: str = Field("", max_length=500, description="Where the items' texts come from, "
                                                       "shown beside them (the attribution "
                                                       "the sources' licences ask for).")
    audience: dict[str, AudienceSpec] = Field(default_factory=dict)
    aliases: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict, description="field -> value -> phrases people use for it "
                                          "('sci fi' for Sci-Fi); a value the catalog lacks is "
                                          "ignored (counted in the import summary).")
    dialogues: DialoguesSpec | None = None

    @model_validator(mode="after")
    def _unique_fields(self) -> CatalogSpec:
        names = list(self.items.attributes) + [a.field for a in self.attributes]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"attribute fields defined twice: {sorted(dupes)}")
        keys = {k.name for k in self.keys}
        for f in self.interactions:
            if f.via and f.via not in keys:
                raise ValueError(f"interactions {f.file}: via = '{f.via}' names no [[keys]] "
                                 f"entry (have: {sorted(keys) or 'none'})")
        for j in self.joins:
            if j.via and j.via not in keys:
                raise ValueError(f"join {j.source}: via = '{j.via}' names no [[keys]] entry "
                                 f"(have: {sorted(keys) or 'none'})")
            if j.match and j.match.year is not None and self.items.year is None:
                raise ValueError(f"join {j.source}: match by year needs the items' year "
                                 "(items.year = ...)")
        metas = self.field_meta()
        for a, rule in self.audience.items():
            for f in [rule.field, *rule.unrated, *rule.exclude]:
                if f not in metas:
                    raise ValueError(f"audience.{a} names field '{f}', which no section "
                                     f"defines (have: {sorted(metas)})")
        valued = sorted(n for n, m in metas.items() if m.kind not in ("text", "number"))
        for fld, values in self.aliases.items():
            if fld not in valued:
                what = (f"'{fld}' is a {metas[fld].kind} field: no values to alias"
                        if fld in metas else f"no section defines field '{fld}'")
                raise ValueError(f"aliases.{fld}: {what} (fields with values: "
                                 f"{valued or 'none'})")
            for v, phrases in values.items():
                for p in phrases:
                    if not re.search(r"[^\W_]", p):
                        raise ValueError(f"aliases.{fld}.{v}: phrase '{p}' has no word")
        return self

    def field_meta(self) -> dict[str, FieldMeta]:
        """Every item field and what it is; for a field several joins fill, the first one's."""
        out: dict[str, FieldMeta] = {}
        for name, a in self.items.attributes.items():
            out[name] = a
        for af in self.attributes:
            out.setdefault(af.field, af)
        for j in self.joins:
            for name, a in j.fields.items():
                out.setdefault(name, a)
        return out

    def files(self) -> list[FileSpec]:
        lookups = [a.lookup for a in self.attributes if a.lookup]
        joins = [p for j in self.joins for p in j.parts()]
        extra: list[FileSpec] = [*self.keys, *joins, *([self.users] if self.users else [])]
        return [self.items, *self.attributes, *lookups, *self.interactions, *self.user_links,
                *extra]


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
