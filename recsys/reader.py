"""Read the rows of one catalog file, whatever its format, with the line each row came from."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recsys.errors import RowProblem, SpecError
from recsys.spec import FileSpec

Row = dict[str, Any]


class FileProblem(Exception):
    """The file as a whole cannot be read (encoding, JSON syntax): carries one RowProblem."""

    def __init__(self, problem: RowProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _decode(path: Path, encoding: str) -> str:
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        hint = f"bytes not valid {encoding} ({e.reason}); set encoding = \"latin-1\" (or the "
        hint += "file's real encoding) in the spec"
        raise FileProblem(RowProblem(path.name, line, "(encoding)", hint)) from None
    return text.removeprefix("\ufeff")


def read_rows(path: Path, spec: FileSpec, needed: list[str]) -> Iterator[tuple[int, Row]]:
    """Yield (line number, row) pairs; ``needed`` columns must exist (SpecError otherwise)."""
    if not path.is_file():
        raise SpecError(f"catalog file '{path}' not found (spec entry file = \"{spec.file}\")")
    text = _decode(path, spec.encoding)
    if spec.format == "jsonl":
        yield from _jsonl(path, text, needed)
    elif spec.format == "json_map":
        yield from _json_map(path, text, needed)
    else:
        yield from _delimited(path, text, spec, needed)


def _check_columns(path: Path, have: list[str], needed: list[str]) -> None:
    missing = [c for c in needed if c not in have]
    if missing:
        raise SpecError(f"{path.name}: the spec names column(s) {missing} but the file has "
                        f"{have}; fix the column names in the spec")


def _delimited(path: Path, text: str, spec: FileSpec, needed: list[str]
               ) -> Iterator[tuple[int, Row]]:
    sep = spec.sep
    if len(sep) == 1:
        reader: Iterator[list[str]] = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        lines = _with_line_numbers(reader)
    else:  # multi-character separators (MovieLens '::') have no quoting
        lines = ((i, ln.rstrip("\r").split(sep)) for i, ln in enumerate(text.split("\n"), 1))
    header = spec.columns
    for line, fields in lines:
        if not fields or fields == [""]:
            continue
        if header is None:
            header = [f.strip() for f in fields]
            _check_columns(path, header, needed)
            continue
        if len(fields) != len(header):
            raise_row = RowProblem(path.name, line, "(row)",
                                   f"{len(fields)} fields, expected {len(header)} "
                                   f"({spec.sep!r}-separated: {', '.join(header)})")
            yield line, {"__problem__": raise_row}
            continue
        yield line, dict(zip(header, fields, strict=True))
    if header is None:
        raise SpecError(f"{path.name} is empty")
    if spec.columns is not None:
        _check_columns(path, header, needed)


def _with_line_numbers(reader: Any) -> Iterator[tuple[int, list[str]]]:
    start = 1
    for fields in reader:
        yield start, fields
        start = reader.line_num + 1


def _jsonl(path: Path, text: str, needed: list[str]) -> Iterator[tuple[int, Row]]:
    for i, ln in enumerate(text.split("\n"), 1):
        if not ln.strip():
            continue
        try:
            obj = json.loads(ln)
        except json.JSONDecodeError as e:
            yield i, {"__problem__": RowProblem(path.name, i, "(json)", f"not valid JSON: {e.msg}")}
            continue
        if not isinstance(obj, dict):
            yield i, {"__problem__": RowProblem(path.name, i, "(json)", "line is not an object")}
            continue
        # absent keys read as empty; the importer decides which fields may be empty
        yield i, {c: None for c in needed} | obj


def _json_map(path: Path, text: str, needed: list[str]) -> Iterator[tuple[int, Row]]:
    """A JSON object ``{key: value}`` read as rows with columns ``key`` and ``value``."""
    _check_columns(path, ["key", "value"], needed)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise FileProblem(RowProblem(path.name, e.lineno, "(json)",
                                     f"not valid JSON: {e.msg}")) from None
    if not isinstance(obj, dict):
        raise FileProblem(RowProblem(path.name, 1, "(json)",
                                     "format json_map needs a JSON object {key: value}"))
    # json does not keep positions: find each top-level key in order to report its line
    pos, line = 0, 1
    for k, v in obj.items():
        found = text.find(json.dumps(k), pos)
        if found >= 0:
            line += text.count("\n", pos, found)
            pos = found
        yield line, {"key": k, "value": v}
