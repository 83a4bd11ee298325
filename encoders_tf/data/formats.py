"""Reading CSV, TSV and JSONL files (optionally gzipped) row by row, with line numbers.

Each line is decoded on its own: UTF-8 first, then a fallback encoding when one is given (a single-byte
encoding decodes any byte), else UTF-8 with invalid bytes replaced. Decoding never raises.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
from typing import Iterator, NamedTuple

from encoders_tf.data.errors import DataError

FILE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".csv.gz", ".tsv.gz", ".jsonl.gz")
csv.field_size_limit(1 << 30)  # the default (128 KiB per field) is too small for long documents


class Row(NamedTuple):
    """One data row: where it is ("file, line N"), its values in the requested column order, or a problem."""

    where: str
    values: tuple | None
    problem: str | None = None


def file_format(path) -> str | None:
    """"csv", "tsv" or "jsonl" from the file name (a ".gz" may follow); None for anything else."""
    name = str(path).lower()
    for suffix in FILE_SUFFIXES:
        if name.endswith(suffix):
            return suffix.split(".")[1]
    return None


def decode(raw: bytes, fallback: str | None = None) -> str:
    """UTF-8, else `fallback` (e.g. "mac_roman"), else UTF-8 with invalid bytes replaced; never raises."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode(fallback) if fallback else raw.decode("utf-8", errors="replace")


def read_rows(path, columns, fallback_encoding: str | None = None) -> Iterator[Row]:
    """Yields the rows of a CSV, TSV or JSONL file (optionally .gz), keeping only `columns`.

    CSV has standard quoting; TSV has none (the GLUE layout); JSONL is one object per line. Line numbers
    count from 1 and include the header. A malformed row comes as a Row with `problem` set, for the caller
    to raise or skip; blank lines are ignored.

    Args:
        path: the file.
        columns: the column (or JSON field) names wanted, e.g. ("text", "label").
        fallback_encoding: decodes lines that are not UTF-8; None replaces the invalid bytes.

    Raises:
        DataError: the file is empty, cannot be read (e.g. bad gzip), or lacks one of `columns`.

    Example:
    >>> for row in read_rows("reviews.csv", ("text", "label")):
    ...     print(row.where, row.values or row.problem)
    reviews.csv, line 2 ('a fine film', '1')
    reviews.csv, line 3 ('dull', '0')
    """
    kind = file_format(path)
    lines = _decoded_lines(path, fallback_encoding)
    try:
        if kind == "jsonl":
            yield from _jsonl_rows(path, lines, columns)
        else:
            yield from _delimited_rows(path, lines, kind, columns)
    except (OSError, EOFError) as error:  # a truncated or corrupt gzip file, or an unreadable one
        raise DataError(f"{path}: cannot read the file ({error}); expected a readable "
                        f"{'gzip-compressed ' if str(path).endswith('.gz') else ''}{kind.upper()} file") from None


def _decoded_lines(path, fallback_encoding):
    opener = gzip.open if str(path).lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            yield decode(raw, fallback_encoding)


def _delimited_rows(path, lines, kind, columns):
    reader = csv.reader(lines, delimiter="\t" if kind == "tsv" else ",",
                        quoting=csv.QUOTE_NONE if kind == "tsv" else csv.QUOTE_MINIMAL)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as error:
        raise DataError(f"{path}, line 1: unreadable header ({error}); expected a {kind.upper()} header row") from None
    if not header:
        raise DataError(f"{path}: the file is empty; expected a header row naming the columns "
                        f"({', '.join(columns)})")
    indices = [_column_index(path, header, column) for column in columns]
    while True:
        where = f"{path}, line {reader.line_num + 1}"
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Row(where, None, f"unreadable {kind.upper()} row ({error})")
            continue
        if not fields:
            continue
        if len(fields) != len(header):
            yield Row(where, None, f"{len(fields)} fields where the header has {len(header)} "
                                   f"({', '.join(header)})")
        else:
            yield Row(where, tuple(fields[index] for index in indices))


def _column_index(path, header, column):
    if column not in header:
        raise DataError(f"{path}: no column {column!r}; the columns are {', '.join(header)} "
                        f"(choose with --text-column/--label-column/--text-pair-column)")
    return header.index(column)


def _jsonl_rows(path, lines, columns):
    first_object = True
    for number, line in enumerate(lines, start=1):
        where = f"{path}, line {number}"
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield Row(where, None, f"invalid JSON ({error.msg} at column {error.colno})")
            continue
        if not isinstance(record, dict):
            yield Row(where, None, f"expected a JSON object, got a {type(record).__name__}")
            continue
        missing = [column for column in columns if column not in record]
        if missing and first_object:  # the first object shows the file's fields: treat it as a header
            raise DataError(f"{path}: no field {missing[0]!r}; the fields are {', '.join(record)} "
                            f"(choose with --text-column/--label-column/--text-pair-column)")
        first_object = False
        if missing:
            yield Row(where, None, f"no field {missing[0]!r}")
        else:
            yield Row(where, tuple(_as_text(record[column]) for column in columns))


def _as_text(value):
    """A JSON value as the string a CSV cell would hold (1 -> "1", "a" -> "a"); null stays None."""
    return value if value is None or isinstance(value, str) else json.dumps(value)

