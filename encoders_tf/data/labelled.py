"""Rows -> (texts, integer labels): label parsing, text clean-up, and the malformed-row policy."""

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
    >>> collect(read_rows("reviews.csv", ("text", "label")))
    (['a fine film', 'dull'], [1, 0], 0)
    """
    texts, labels, skipped = [], [], 0
    for row in rows:
        problem, text, label = row.problem, None, None
        if problem is None:
            text = clean_text(row.values[0] or "")
            try:
                label = parse_label(row.values[1])
            except ValueError as error:
                problem = str(error)
            if not text:
                problem = "the text is empty"
        if problem is not None:
            if not skip_bad_rows:
                raise DataError(f"{row.where}: {problem} (--skip-bad-rows skips such rows)")
            skipped += 1
            continue
        texts.append(text)
        labels.append(label)
    if not texts:
        raise DataError(f"{source}: no usable rows ({skipped} skipped); expected rows of a text and a label")
    return texts, labels, skipped
