"""GLUE SST-2: sentence-level binary sentiment, train.tsv and dev.tsv (header sentence<TAB>label)."""

from __future__ import annotations

import pathlib

import numpy as np

from encoders_tf.data.dataset import Split
from encoders_tf.data.formats import read_rows
from encoders_tf.data.labelled import class_id_label, collect
from encoders_tf.data.locate import find_file

CLASS_NAMES = ("negative", "positive")


def load_sst2(data_dir=None, skip_bad_rows=False):
    """SST-2 from `<data_dir>/sst2/{train,dev}.tsv` (or the files directly in `<data_dir>`).

    GLUE ships no labelled test split: dev is the test split (the split papers report on). The train split
    holds the phrases of the treebank's parse trees, not only whole sentences: its rows are grouped by the
    sentence they come from (`sentence_groups`), so that a validation split carved from it holds sentences
    the training split never saw, whole and in parts.

    Returns:
        (train Split, test Split (dev.tsv), class names, rows skipped).

    Example:
    >>> train, test, class_names, _ = load_sst2("../shared/data")
    >>> len(train), len(test)
    (67349, 872)
    """
    splits, skipped = [], 0
    for name in ("train.tsv", "dev.tsv"):
        path = find_file(f"SST-2 {name}", [pathlib.Path("sst2") / name, name], data_dir)
        rows = read_rows(path, ("sentence", "label"))
        texts, labels, skipped_here = collect(rows, class_id_label(CLASS_NAMES), skip_bad_rows, source=str(path))
        splits.append(Split(texts, labels, groups=sentence_groups(texts) if name == "train.tsv" else None))
        skipped += skipped_here
    return splits[0], splits[1], CLASS_NAMES, skipped


def sentence_groups(phrases):
    """A group id per phrase: the sentence it was cut from, i.e. the longest phrase it is a word span of.

    Without it, 88% of the phrases of a validation split carved at random from SST-2's train split are word
    spans of training phrases (the same sentence's other parts), and validation accuracy (0.95 for MiniLM)
    says little about dev (0.89); grouped, 6% are, all short (of five words or more: 2 in 4,235).

    Phrases are compared word by word (split at whitespace). Longest first, each phrase not yet grouped
    starts a group that takes every phrase that is a span of it and not yet grouped, so a phrase shared by
    several sentences (e.g. "the film") joins the first of them.

    Args:
        phrases: the texts, in any order.

    Returns:
        int64 [N], group ids numbered from 0, longest sentence first.

    Example:
    >>> sentence_groups(["a fine film", "fine film", "dull", "a fine", "so dull ."]).tolist()
    [0, 0, 1, 0, 1]
    """
    normal = [" ".join(phrase.split()) for phrase in phrases]
    pool = set(normal)
    group, sentences = {}, 0
    for sentence in sorted(sorted(pool), key=lambda text: -text.count(" ")):  # longest first, ties in text order
        if sentence in group:
            continue
        words = sentence.split(" ")
        for start in range(len(words)):
            for end in range(start + 1, len(words) + 1):
                span = " ".join(words[start:end])
                if span in pool:
                    group.setdefault(span, sentences)
        sentences += 1
    return np.array([group[text] for text in normal], dtype=np.int64)
