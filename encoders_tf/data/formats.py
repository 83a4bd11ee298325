"""Reading labelled text files (CSV, TSV, JSONL, optionally gzipped) row by row, with line numbers."""

import csv
import gzip
import io
import json
import pathlib
import re

from encoders_tf.data.errors import DataError

FILE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".csv.gz", ".tsv.gz", ".jsonl.gz")
_INTEGER = re.compile(r"^\s*\d+\s*$")
csv.field_size_limit(1 << 30)  # reviews can be long


def file_format(path):
    """"csv", "tsv" or "jsonl" from the file name; None when it is none of those."""
    name = str(path).lower()
    for suffix in FILE_SUFFIXES:
        if name.endswith(suffix):
            return suffix.strip(".").split(".")[0]
    return None


def open_text(path):
    """Opens a possibly gzipped UTF-8 file for reading text (invalid bytes are replaced)."""
    path = pathlib.Path(path)
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def read_records(path, text_column="text", label_column="label"):
    """Yields (line_number, text, label_string) for each row; raises DataError for a missing column.

    A malformed row is yielded as (line_number, None, reason).
    """
    kind = file_format(path)
    with open_text(path) as f:
        if kind == "jsonl":
            yield from _jsonl_records(path, f, text_column, label_column)
        else:
            yield from _delimited_records(path, f, "\t" if kind == "tsv" else ",", text_column, label_column)


def _delimited_records(path, f, delimiter, text_column, label_column):
    reader = csv.reader(f, delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL)
    header = next(reader, None)
    if header is None:
        raise DataError(f"{path}: the file is empty (expected a header row naming the columns)")
    columns = [_index(path, header, name) for name in (text_column, label_column)]
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            yield reader.line_num, None, f"{len(row)} fields where the header has {len(header)}"
            continue
        yield reader.line_num, row[columns[0]], row[columns[1]]


def _index(path, header, name):
    if name not in header:
        raise DataError(f"{path}: no column {name!r}; the columns are {header} "
                        f"(choose with --text-column/--label-column)")
    return header.index(name)


def _jsonl_records(path, f, text_column, label_column):
    for line_number, line in enumerate(f, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield line_number, None, f"invalid JSON ({error.msg})"
            continue
        if not isinstance(record, dict):
            yield line_number, None, "a JSON line must be an object"
            continue
        for name in (text_column, label_column):
            if name not in record:
                if line_number == 1:
                    raise DataError(f"{path}: no field {name!r}; the fields are {sorted(record)} "
                                    f"(choose with --text-column/--label-column)")
                yield line_number, None, f"no field {name!r}"
                break
        else:
            label = record[label_column]
            yield line_number, str(record[text_column]), label if isinstance(label, str) else json.dumps(label)


def read_labelled_file(path, text_column="text", label_column="label", skip_bad_rows=False):
    """Reads a generic labelled file whose labels are integer classes 0..C-1.

    Returns:
        (texts list, labels list of int, skipped row count).
    """
    texts, labels, skipped = [], [], 0
    for line_number, text, label in read_records(path, text_column, label_column):
        problem = label if text is None else None
        if problem is None and not text.strip():
            problem = "the text is empty"
        if problem is None and not _INTEGER.match(label):
            problem = (f"label {label!r} is not an integer class (accepted: 0, 1, 2, ... "
                       f"in column {label_column!r})")
        if problem is not None:
            if not skip_bad_rows:
                raise DataError(f"{path}, line {line_number}: {problem} (--skip-bad-rows skips such rows)")
            skipped += 1
            continue
        texts.append(text.strip())
        labels.append(int(label))
    if not texts:
        raise DataError(f"{path}: no usable rows")
    return texts, labels, skipped
