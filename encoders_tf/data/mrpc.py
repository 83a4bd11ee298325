"""GLUE MRPC (Microsoft Research Paraphrase Corpus): pairs of news sentences, paraphrase or not.

GLUE's layout: `train.tsv` and `dev.tsv`, UTF-8 starting with a byte-order mark, a header row
Quality<TAB>#1 ID<TAB>#2 ID<TAB>#1 String<TAB>#2 String, no quoting (sentences hold bare " characters).
Quality is 1 for a paraphrase, 0 for not.
"""

from __future__ import annotations

import pathlib

from encoders_tf.data.dataset import Split
from encoders_tf.data.formats import read_rows
from encoders_tf.data.labelled import class_id_label, collect_pairs
from encoders_tf.data.locate import find_file

CLASS_NAMES = ("not_paraphrase", "paraphrase")
COLUMNS = ("#1 String", "Quality", "#2 String")  # (text, label, second text), as read_rows gives them


def load_mrpc(data_dir=None, skip_bad_rows=False):
    """MRPC from `<data_dir>/mrpc/{train,dev}.tsv` (or the files directly in `<data_dir>`), as pairs.

    GLUE ships no labelled test split: dev is the test split (the split papers report on).

    Returns:
        (train Split of pairs, test Split of pairs (dev.tsv), class names, rows skipped).

    Example:
    >>> train, test, class_names, _ = load_mrpc("../shared/data")
    >>> len(test), test.texts[0][:30], test.pairs[0][:30], class_names[int(test.labels[0])]
    (408, 'He said the foodservice pie bu', '" The foodservice pie business', 'paraphrase')
    """
    splits, skipped = [], 0
    for name in ("train.tsv", "dev.tsv"):
        path = find_file(f"MRPC {name}", [pathlib.Path("mrpc") / name, name], data_dir)
        rows = read_rows(path, COLUMNS)
        texts, pairs, labels, skipped_here = collect_pairs(rows, class_id_label(CLASS_NAMES), skip_bad_rows,
                                                           source=str(path), columns=(COLUMNS[0], COLUMNS[2]))
        splits.append(Split(texts, labels, pairs))
        skipped += skipped_here
    return splits[0], splits[1], CLASS_NAMES, skipped
