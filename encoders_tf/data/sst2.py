"""GLUE SST-2: sentence-level binary sentiment, train.tsv and dev.tsv (header sentence<TAB>label)."""

from __future__ import annotations

import pathlib

from encoders_tf.data.dataset import Split
from encoders_tf.data.formats import read_rows
from encoders_tf.data.labelled import class_id_label, collect
from encoders_tf.data.locate import find_file

CLASS_NAMES = ("negative", "positive")


def load_sst2(data_dir=None, skip_bad_rows=False):
    """SST-2 from `<data_dir>/sst2/{train,dev}.tsv` (or the files directly in `<data_dir>`).

    GLUE ships no labelled test split: dev is the test split (the split papers report on).

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
        splits.append(Split(texts, labels))
        skipped += skipped_here
    return splits[0], splits[1], CLASS_NAMES, skipped
