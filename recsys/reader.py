"""Read the rows of one catalog file, whatever its format, with the line each row came from."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
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
        hint = _encoding_hint(data, encoding, e)
        raise FileProblem(RowProblem(path.name, line, "(encoding)", hint)) from None
    return text.removeprefix("\ufeff")


def _encoding_hint(data: bytes, encoding: str, e: UnicodeDecodeError) -> str:
    """What the bytes say about the file's real encoding (a hint that fits them)."""
    near = data[max(0, e.start - 12):e.end + 12]
    where = f"{near!r}"
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
        return (f"bytes not valid {encoding} ({e.reason}) near {where}; set encoding to the "
                "file's real encoding in the spec")
    decoded = data.decode("utf-8", errors="replace")
    bad = decoded.count("\ufffd") - data.count("\ufffd".encode())
    good = sum(1 for ch in decoded if ord(ch) > 127 and ch != "\ufffd")
    if good:  # real UTF-8 elsewhere: Latin-1 would garble it; the file is damaged
        return (f"{bad} byte(s) are not UTF-8 in a file that is otherwise UTF-8 ({good} "
                f"non-ASCII characters read fine); the first is near {where}: fix those "
                "bytes in the file (do not change the spec's encoding)")
    return (f"{bad} byte(s) are not UTF-8 and the file has no other non-ASCII text, the first "
            f"near {where}: if the file is Latin-1 or Windows-1252, set encoding = "
            "\"latin-1\" (or \"cp1252\") in the spec; if it is UTF-8, those bytes are damaged: "
            "fix them")


def read_rows(path: Path, spec: FileSpec, needed: list[str]) -> Iterator[tuple[int, Row]]:
    """Yield (line number, row) pairs; ``needed`` columns must exist (SpecError otherwise)."""
    if not path.is_file():
        raise SpecError(f"catalog file '{path}' not found (spec entry file = \"{spec.file}\")")
    if spec.format == "sqlite":
        yield from _sqlite(path, spec, needed)
        return
    text = _decode(path, spec.encoding)
    if spec.repair == "mojibake":
        text = _unmojibake(text)
    if spec.format == "jsonl":
        yield from _jsonl(path, text, needed)
    elif spec.format == "json":
        yield from _json_array(path, text, needed)
    elif spec.format == "json_map":
        yield from _json_map(path, text, needed)
    else:
        yield from _delimited(path, text, spec, needed)


_MOJIBAKE = re.compile(r"[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178"
                       r"\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2122]+")


def _unmojibake(text: str) -> str:
    """Undo one round of UTF-8 read as cp1252 / Latin-1, run by run (a run that does not
    decode as UTF-8 was real text and stays)."""
    def fix(m: re.Match[str]) -> str:
        s = m.group(0)
        for enc in ("cp1252", "latin-1"):
            try:
                return s.encode(enc).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
        return s
    return _MOJIBAKE.sub(fix, text)


def _check_columns(path: Path, have: list[str], needed: list[str]) -> None:
    missing = [c for c in needed if c not in have]
    if missing:
        raise SpecError(f"{path.name}: the spec names column(s) {missing} but the file has "
                        f"{have}; fix the column names in the spec")


def _delimited(path: Path, text: str, spec: FileSpec, needed: list[str]
               ) -> Iterator[tuple[int, Row]]:
    sep = spec.sep
    if len(sep) == 1:
        quoting = csv.QUOTE_NONE if spec.quoting == "none" else csv.QUOTE_MINIMAL
        reader: Iterator[list[str]] = csv.reader(io.StringIO(text, newline=""), delimiter=sep,
                                                 quoting=quoting, escapechar=spec.escape)
        lines = _with_line_numbers(reader)
    else:  # multi-character separators (MovieLens '::') have no quoting
        lines = ((i, ln.rstrip("\r").split(sep)) for i, ln in enumerate(text.split("\n"), 1))
    header = spec.columns
    if header is not None:  # before the rows: the importer reads the named columns of each
        _check_columns(path, header, needed)
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


def _json_array(path: Path, text: str, needed: list[str]) -> Iterator[tuple[int, Row]]:
    """A JSON array of objects, one row each, with the line each object starts on."""
    dec = json.JSONDecoder()
    ws = re.compile(r"[ \t\n\r]*")
    pos = ws.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("[", pos):
        raise FileProblem(RowProblem(path.name, text.count("\n", 0, pos) + 1, "(json)",
                                     "format json needs a JSON array of objects [{...}, ...]"))
    pos, line, counted = pos + 1, 1, 0
    first = True
    while True:
        pos = ws.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith("]", pos):
            break
        if not first:
            if not text.startswith(",", pos):
                raise FileProblem(RowProblem(path.name, line + text.count("\n", counted, pos),
                                             "(json)", "not valid JSON: expected ',' or ']'"))
            pos = ws.match(text, pos + 1).end()  # type: ignore[union-attr]
        first = False
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            obj, pos = dec.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise FileProblem(RowProblem(path.name, e.lineno, "(json)",
                                         f"not valid JSON: {e.msg}")) from None
        if not isinstance(obj, dict):
            yield line, {"__problem__": RowProblem(path.name, line, "(json)",
                                                   "array element is not an object")}
            continue
        # absent keys read as empty, as in jsonl
        yield line, {c: None for c in needed} | obj


def _json_map(path: Path, text: str, needed: list[str]) -> Iterator[tuple[int, Row]]:
    """A JSON object ``{key: value}`` read as rows with columns ``key`` and ``value``; when
    the values are objects, their members are columns too (absent ones read as empty)."""
    flat = [c for c in needed if c not in ("key", "value")]
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
        row = {"key": k, "value": v}
        if flat:
            if not isinstance(v, dict):
                raise SpecError(f"{path.name}: the spec names column(s) {flat}, but the values "
                                "of this JSON map are not objects; use key and value")
            row |= {c: v.get(c) for c in flat}
        yield line, row


def _sqlite(path: Path, spec: FileSpec, needed: list[str]) -> Iterator[tuple[int, Row]]:
    """Rows of one table of a SQLite file (bokeh-sampledata's movies.db), read-only."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise FileProblem(RowProblem(path.name, 0, "(sqlite)", str(e))) from None
    try:
        try:
            have = [r[1] for r in conn.execute(f'PRAGMA table_info("{spec.table}")')]
        except sqlite3.DatabaseError as e:
            raise FileProblem(RowProblem(path.name, 0, "(sqlite)",
                                         f"not a readable SQLite database: {e}")) from None
        if not have:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            raise SpecError(f"{path.name} has no table '{spec.table}' (tables: {tables})")
        _check_columns(path, have, needed)
        cols = ", ".join(f'"{c}"' for c in needed)
        for n, values in enumerate(conn.execute(
                f'SELECT {cols} FROM "{spec.table}" ORDER BY rowid'), 1):
            yield n, dict(zip(needed, values, strict=True))
    finally:
        conn.close()
