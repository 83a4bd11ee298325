"""Unlabelled text for pretraining: a named data set's splits, a text file, or a directory of .txt files."""

from __future__ import annotations

import dataclasses
import gzip
import pathlib

from encoders_tf.data.errors import DataError
from encoders_tf.data.formats import decode, read_rows
from encoders_tf.data.labelled import clean_text
from encoders_tf.data.locate import DATA_ENV, candidates, places_looked

# Splits of the named data sets that hold text without labels, beside their labelled splits.
UNLABELLED_SPLITS = {"imdb": {"unsup": ("imdb/unsup.csv.gz", "unsup.csv.gz")}}
LABELLED_SPLITS = ("train", "validation", "test")
SHIPPED_SPLITS = {"imdb": ("train", "test")}  # read whole, as shipped, rather than carved by load_dataset


@dataclasses.dataclass(frozen=True)
class Corpus:
    """Documents (strings, in source order) and where they came from.

    Args:
        documents: the documents, none empty.
        source: what they were read from, e.g. "imdb (unsup, train)" or "reviews.txt".
    """

    documents: tuple
    source: str

    def __len__(self):
        return len(self.documents)

    def __repr__(self):  # the documents themselves would flood logs
        return f"Corpus({len(self.documents)} documents from {self.source})"


def load_corpus(dataset=None, *, splits=("train",), text_file=None, text_dir=None, data_dir=None,
                max_documents=None) -> Corpus:
    """The documents of exactly one source: a named data set's splits, a text file, or a directory.

    A named data set gives the texts of the splits asked for, in that order (both texts of a pair, as two
    documents): "train", "validation", "test" as `load_dataset` makes them (validation carved from train
    with seed 0 where none ships); IMDB's are "train" and "test" as shipped (25,000 reviews each) and
    "unsup" (`imdb/unsup.csv.gz`, 50,000 unlabelled reviews). A text file holds one document
    a line (blank lines skipped; .gz read as gzip); a directory, one document per .txt file (found
    recursively, in path order; empty files skipped). Invalid UTF-8 is replaced.

    Args:
        dataset: a named data set (see `encoders_tf.data.DATASETS`).
        splits: the data set's splits, a sequence or a comma-separated string ("unsup,train").
        text_file: a text file, one document a line.
        text_dir: a directory of .txt files, one document a file.
        data_dir: where named data sets' files are (default $ENCODERS_TF_DATA).
        max_documents: keep only the first this many documents (for quick runs).

    Raises:
        DataError: not exactly one source, an unknown data set or split, a missing path, or no document.

    Example:
    >>> corpus = load_corpus("imdb", splits="unsup", data_dir="../shared/data", max_documents=5000)
    >>> len(corpus), corpus.source
    (5000, 'imdb (unsup)')
    """
    given = [name for name, value in (("dataset", dataset), ("text_file", text_file), ("text_dir", text_dir))
             if value is not None]
    if len(given) != 1:
        raise DataError(f"give exactly one text source, got {len(given)} ({', '.join(given) or 'none'}); accepted: "
                        f"--dataset NAME (with --split), --text-file FILE (one document a line) or --text-dir DIR "
                        f"(one document per .txt file)")
    if max_documents is not None and (isinstance(max_documents, bool) or not isinstance(max_documents, int)
                                      or max_documents < 1):
        raise DataError(f"max_documents must be a positive integer or None, got {max_documents!r}")
    if dataset is not None:
        splits = _split_names(dataset, splits)
        source = f"{dataset} ({', '.join(splits)})"
        documents = _dataset_documents(dataset, splits, data_dir, max_documents)
        accepted = "non-empty texts in those splits"
    elif text_file is not None:
        source, documents = str(text_file), _file_documents(pathlib.Path(text_file))
        accepted = "a text file with one document a line"
    else:
        source, documents = str(text_dir), _directory_documents(pathlib.Path(text_dir))
        accepted = "a directory holding non-empty .txt files (one document a file)"
    documents = _first(documents, max_documents)
    if not documents:
        raise DataError(f"{source}: no documents (every text was empty); accepted: {accepted}")
    return Corpus(tuple(documents), source)


def _first(documents, limit):
    kept = []
    for document in documents:
        if limit is not None and len(kept) >= limit:
            break
        if document:
            kept.append(document)
    return kept


def _split_names(dataset, splits):
    from encoders_tf.data.load import DATASETS

    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r} for pretraining; accepted: {', '.join(DATASETS)} (or "
                        f"--text-file / --text-dir for your own text)")
    names = [name.strip() for name in (splits.split(",") if isinstance(splits, str) else splits)]
    accepted = SHIPPED_SPLITS.get(dataset, LABELLED_SPLITS) + tuple(UNLABELLED_SPLITS.get(dataset, {}))
    unknown = [name for name in names if name not in accepted]
    if unknown or not names:
        raise DataError(f"unknown split {unknown[0] if unknown else ''!r} of {dataset}; accepted: "
                        f"{', '.join(accepted)} (comma-separated for several)")
    return list(dict.fromkeys(names))


def _dataset_documents(dataset, splits, data_dir, limit):
    """Yields the split's texts one split after another (stopping early once `limit` is reached)."""
    labelled = None
    for split in splits:
        if split in UNLABELLED_SPLITS.get(dataset, {}):
            yield from _unlabelled_texts(dataset, split, data_dir)
            continue
        if labelled is None:
            labelled = _labelled_splits(dataset, data_dir)
        texts, pairs = labelled[split]
        for index, text in enumerate(texts):
            yield text
            if pairs is not None:
                yield pairs[index]


def _labelled_splits(dataset, data_dir):
    """{split: (texts, pairs or None)} of a named data set; IMDB's train and test as shipped."""
    if dataset == "imdb":
        from encoders_tf.data.imdb import load_imdb

        train, test, _, _ = load_imdb(data_dir)
        return {"train": (train.texts, None), "test": (test.texts, None)}
    from encoders_tf.data.load import load_dataset

    data = load_dataset(dataset, data_dir=data_dir)
    return {name: (list(data.split(name).texts), None if data.split(name).pairs is None
                   else list(data.split(name).pairs)) for name in LABELLED_SPLITS}


def _unlabelled_texts(dataset, split, data_dir):
    paths = candidates(data_dir, UNLABELLED_SPLITS[dataset][split])
    path = next((path for path in paths if path.is_file()), None)
    if path is None:
        raise DataError(f"{dataset} split {split!r} not found: expected {UNLABELLED_SPLITS[dataset][split][0]}; "
                        f"{places_looked(data_dir, paths)}; point --data-dir or ${DATA_ENV} at the folder that "
                        f"holds it")
    for row in read_rows(path, ("text",)):
        if row.problem is not None:
            raise DataError(f"{row.where}: {row.problem}")
        yield clean_text(row.values[0] or "")


def _file_documents(path):
    if not path.is_file():
        raise DataError(f"text file {str(path)!r} not found (looked at {path.resolve()}); accepted: an existing "
                        f"text file, one document a line (optionally .gz)")
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            for raw in f:
                yield clean_text(decode(raw))
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read the file ({error}); expected a readable text file") from None


def _directory_documents(path):
    if not path.is_dir():
        raise DataError(f"text directory {str(path)!r} not found or not a directory (looked at {path.resolve()}); "
                        f"accepted: a directory of .txt files, one document a file")
    for file in sorted(path.rglob("*.txt")):
        if file.is_file():
            yield clean_text(decode(file.read_bytes()))
