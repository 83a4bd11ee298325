"""Deterministic splitting: carving validation/test parts out of a pool, shuffling, capping."""

from __future__ import annotations

import numpy as np

from encoders_tf.data.dataset import Split
from encoders_tf.data.errors import DataError


def carve(pool: Split, fractions: dict, seed: int) -> list:
    """Splits `pool` at random into the rest and one part per fraction, each in a random order.

    Rows with the same text go to the same part, so no text is in two parts; for pairs, rows sharing either
    text (a sentence may be the first text of one pair and the second of another) go to the same part, and so
    do rows with the same `pool.groups` key (e.g. SST-2's phrases of one sentence). Each part gets
    round(fraction * groups) groups of rows (the rows of one text, or of linked rows), at least one (none for a
    fraction of 0: an empty part); the rest keeps at least one.

    Args:
        pool: the examples to split.
        fractions: part name -> fraction of the groups (unique texts) in [0, 1), e.g. {"validation": 0.1,
            "test": 0.1}.
        seed: fixes the parts and their order (numpy.random.default_rng(seed)).

    Returns:
        [rest, *parts] as Splits, parts in the order of `fractions`.

    Example:
    >>> pool = Split([f"review {i}" for i in range(20)], [i % 2 for i in range(20)])
    >>> train, validation, test = carve(pool, {"validation": 0.1, "test": 0.1}, seed=0)
    >>> len(train), len(validation), len(test)
    (16, 2, 2)
    """
    for name, fraction in fractions.items():
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
            raise DataError(f"{name} fraction must be a number from 0 (none) to 1 (exclusive), got {fraction!r}")
    if sum(fractions.values()) >= 1:
        given = " + ".join(f"{name} {fraction:g}" for name, fraction in fractions.items())
        raise DataError(f"the fractions add up to 1 or more ({given}); accepted: a sum below 1, "
                        f"leaving examples for training")
    group_of_row = _groups(pool)
    groups = int(group_of_row.max()) + 1 if len(pool) else 0
    counts = [max(1, round(groups * fraction)) if fraction else 0 for fraction in fractions.values()]
    if sum(counts) >= groups:
        what = ("groups of pairs that share no text" if pool.has_pairs else
                "groups of texts" if pool.groups is not None else "unique texts")
        raise DataError(f"cannot carve {', '.join(f'{name} ({count})' for name, count in zip(fractions, counts))} "
                        f"out of {groups} {what} and keep some for training; accepted: more data or "
                        f"smaller fractions")
    rng = np.random.default_rng(seed)
    group_order = rng.permutation(groups)
    part_of_group = np.zeros(groups, dtype=np.int64)  # 0 = the rest
    start = 0
    for part, count in enumerate(counts, start=1):
        part_of_group[group_order[start:start + count]] = part
        start += count
    row_order = rng.permutation(len(pool))
    part_of_row = part_of_group[group_of_row[row_order]]
    return [pool.take(row_order[part_of_row == part]) for part in range(len(counts) + 1)]


def _groups(pool: Split) -> np.ndarray:
    """A group id per row, numbered in order of first appearance: rows sharing a text (either text of a pair)
    or a `pool.groups` key share a group."""
    if not pool.has_pairs and pool.groups is None:
        ids = {}
        return np.array([ids.setdefault(text, len(ids)) for text in pool.texts], dtype=np.int64)
    parent = {}  # union-find over texts (str) and group keys (int): a row joins its texts and its key

    def root(node):
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for row, text in enumerate(pool.texts):
        if pool.has_pairs:
            parent[root(pool.pairs[row])] = root(text)
        if pool.groups is not None:
            parent[root(int(pool.groups[row]))] = root(text)
    ids = {}
    return np.array([ids.setdefault(root(text), len(ids)) for text in pool.texts], dtype=np.int64)


def shuffled(split: Split, seed: int) -> Split:
    """`split` in a random order fixed by `seed`."""
    return split.take(np.random.default_rng(seed).permutation(len(split)))


def capped(split: Split, max_examples: int | None) -> Split:
    """The first `max_examples` examples of `split` (all when None)."""
    return split if max_examples is None else split.take(range(min(max_examples, len(split))))
