"""Unlabelled texts for a distillation's transfer set: a teacher labels them, the student learns from its labels
(Hinton et al.'s transfer set; in-domain text the true labels never covered, e.g. IMDB's unlabelled reviews,
cut into sentences, for an SST-2 teacher)."""

from __future__ import annotations

import dataclasses
import pathlib
import re

from encoders_tf.data.corpus import load_corpus
from encoders_tf.data.errors import DataError
from encoders_tf.data.sentences import split_sentences

EVALUATION_SPLITS = ("validation", "test")
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


@dataclasses.dataclass(frozen=True)
class TransferTexts:
    """Texts for a teacher to label.

    Args:
        texts: the texts, in source order.
        source: what they were read from, e.g. "imdb (unsup), sentences".
        dropped: texts left out because they are (up to case, spaces and punctuation) evaluation texts.
    """

    texts: tuple
    source: str
    dropped: int = 0

    def __len__(self):
        return len(self.texts)

    def __repr__(self):  # the texts themselves would flood logs
        return f"TransferTexts({len(self.texts)} texts from {self.source}, {self.dropped} dropped)"


def load_transfer_texts(source: str, *, data_dir=None, sentences=False, max_texts=None, exclude=(),
                        dataset=None) -> TransferTexts:
    """The unlabelled texts of `source`, none equal to an `exclude` text.

    Args:
        source: "NAME:SPLITS" for a named data set's splits (e.g. "imdb:unsup"; see `load_corpus`), else a text
            file (one text a line) or a directory of .txt files (one text a file).
        data_dir: where named data sets' files are (default $ENCODERS_TF_DATA).
        sentences: cut each document into its sentences (`split_sentences`).
        max_texts: keep the first this many texts (after cutting).
        exclude: texts never to return (the distilled data set's validation and test texts), compared
            ignoring case, spaces and punctuation.
        dataset: the distilled data set's name: its own validation or test split is refused as a source.

    Raises:
        DataError: a source that cannot be read, an evaluation split of `dataset`, or no text left.

    Example:
    >>> transfer = load_transfer_texts("imdb:unsup", data_dir="../shared/data", sentences=True, max_texts=1000)
    >>> len(transfer), transfer.source
    (1000, 'imdb (unsup), sentences')
    """
    if max_texts is not None and (isinstance(max_texts, bool) or not isinstance(max_texts, int) or max_texts < 1):
        raise DataError(f"max_texts must be a positive integer or None, got {max_texts!r}")
    name, colon, splits = source.partition(":")
    path = pathlib.Path(source)
    if colon and not path.exists():
        split_names = [split.strip() for split in splits.split(",")]
        evaluation = [split for split in split_names if split in EVALUATION_SPLITS]
        if name == dataset and evaluation:
            raise DataError(f"transfer texts {source!r} hold {dataset}'s {evaluation[0]} split, which the student "
                            f"is evaluated on; accepted: its train split, another data set's splits, or a file")
        corpus = load_corpus(name, splits=split_names, data_dir=data_dir)
    else:
        corpus = load_corpus(text_dir=source) if path.is_dir() else load_corpus(text_file=source)
    excluded = {_key(text) for text in exclude}
    texts, dropped = [], 0
    for document in corpus.documents:
        for text in split_sentences(document) if sentences else (document,):
            if _key(text) in excluded:
                dropped += 1
            else:
                texts.append(text)
        if max_texts is not None and len(texts) >= max_texts:
            break
    texts = texts[:max_texts]
    description = corpus.source + (", sentences" if sentences else "")
    if not texts:
        raise DataError(f"transfer texts {description}: none left ({dropped} equal an evaluation text); accepted: "
                        f"a source with texts other than the data set's validation and test texts")
    return TransferTexts(tuple(texts), description, dropped)


def _key(text):
    return _NOT_ALPHANUMERIC.sub("", text.lower())
