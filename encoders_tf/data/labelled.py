"""Rows -> (texts, integer labels) or (texts, second texts, integer labels): label parsing, text clean-up,
and the malformed-row policy."""

from __future__ import annotations

import re
from typing import Callable, Iterable

from encoders_tf.data.errors import DataError
from encoders_tf.data.formats import Row

_INTEGER = re.compile(r"[0-9]+")


def integer_label(value: str | None) -> int:
    """A class id written as an integer literal: "0", "1", "2", ... ("1.0", "-1", "pos" are refused).

    Raises:
        ValueError: saying what the value was and what is accepted.
    """
    if value is None or not _INTEGER.fullmatch(value.strip()):
        raise ValueError(f"label {value!r} is not an integer class id (accepted: 0, 1, 2, ...)")
    return int(value)


def class_id_label(class_names) -> Callable[[str], int]:
    """A parser for labels written as class ids 0..len(class_names)-1."""
    accepted = ", ".join(f"{index} ({name})" for index, name in enumerate(class_names))

    def parse(value):
        label = integer_label(value)
        if label >= len(class_names):
            raise ValueError(f"label {value!r} is not a class id (accepted: {accepted})")
        return label

    return parse


def class_name_label(class_names) -> Callable[[str], int]:
    """A parser for labels written as class names; the id is the name's index."""
    ids = {name: index for index, name in enumerate(class_names)}

    def parse(value):
        if value is None or value.strip() not in ids:
            raise ValueError(f"label {value!r} is not a class name (accepted: {', '.join(class_names)})")
        return ids[value.strip()]

    return parse


def clean_text(text: str) -> str:
    """Line ends normalized to "\\n" (old Mac files end lines with a bare "\\r"), outer whitespace stripped."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def collect(rows: Iterable[Row], parse_label=integer_label, skip_bad_rows=False, source="the data"):
    """Texts and labels of (text, label) rows; a malformed row raises, or is skipped and counted.

    Args:
        rows: Rows whose values are (text, label string).
        parse_label: label string -> class id; raises ValueError saying what is accepted.
        skip_bad_rows: skip and count malformed rows instead of raising.
        source: names the data in the error raised when no usable row is left.

    Returns:
        (texts list of str, labels list of int, number of rows skipped).

    Raises:
        DataError: "<file>, line <n>: <what was wrong>" for the first malformed row (unless skipping), or
        when no usable row is left.

    Example:
    >>> from encoders_tf.data.formats import read_rows
    >>> collect(read_rows("reviews.csv", ("text", "label")))
    (['a fine film', 'dull'], [1, 0], 0)
    """
    texts, _, labels, skipped = _collect(rows, parse_label, skip_bad_rows, source)
    return texts, labels, skipped


def collect_pairs(rows: Iterable[Row], parse_label=integer_label, skip_bad_rows=False, source="the data",
                  columns=("text", "text_pair")):
    """Texts, second texts and labels of (text, label, second text) rows; a malformed row raises, or is
    skipped and counted. Either text empty or missing makes a row malformed.

    Args:
        rows: Rows whose values are (text, label string, second text).
        parse_label: label string -> class id; raises ValueError saying what is accepted.
        skip_bad_rows: skip and count malformed rows instead of raising.
        source: names the data in the error raised when no usable row is left.
        columns: the names of the two text columns, for error messages.

    Returns:
        (texts list of str, second texts list of str, labels list of int, number of rows skipped).

    Raises:
        DataError: "<file>, line <n>: <what was wrong>" for the first malformed row (unless skipping), or
        when no usable row is left.

    Example:
    >>> from encoders_tf.data.formats import read_rows
    >>> collect_pairs(read_rows("pairs.tsv", ("sentence1", "label", "sentence2")))
    (['He left.'], ['He went away.'], [1], 0)
    """
    return _collect(rows, parse_label, skip_bad_rows, source, columns)


def _collect(rows, parse_label, skip_bad_rows, source, pair_columns=None):
    texts, pairs, labels, skipped = [], [], [], 0
    for row in rows:
        problem, text, pair, label = row.problem, None, None, None
        if problem is None:
            text = clean_text(row.values[0] or "")
            pair = clean_text(row.values[2] or "") if pair_columns else None
            try:
                label = parse_label(row.values[1])
            except ValueError as error:
                problem = str(error)
            if pair_columns and not (text and pair):
                which, column = ("first", pair_columns[0]) if not text else ("second", pair_columns[1])
                problem = (f"the {which} text (column {column!r}) is empty or missing; accepted: rows with a "
                           f"non-empty text in both {pair_columns[0]!r} and {pair_columns[1]!r}")
            elif not text:
                problem = "the text is empty"
        if problem is not None:
            if not skip_bad_rows:
                raise DataError(f"{row.where}: {problem} (--skip-bad-rows skips such rows)")
            skipped += 1
            continue
        texts.append(text)
        pairs.append(pair)
        labels.append(label)
    if not texts:
        expected = "a text, a second text and a label" if pair_columns else "a text and a label"
        raise DataError(f"{source}: no usable rows ({skipped} skipped); expected rows of {expected}")
    return texts, (pairs if pair_columns else None), labels, skipped
