"""Deterministic splitting: carving validation/test parts out of a pool, shuffling, capping."""

from __future__ import annotations

import numpy as np

from encoders_tf.data.dataset import Split
from encoders_tf.data.errors import DataError


def carve(pool: Split, fractions: dict, seed: int) -> list:
    """Splits `pool` at random into the rest and one part per fraction, each in a random order.

    Rows with the same text go to the same part, so no text is in two parts. Each part gets
    round(fraction * unique texts) texts, at least one; the rest keeps at least one.

    Args:
        pool: the examples to split.
        fractions: part name -> fraction of the unique texts, e.g. {"validation": 0.1, "test": 0.1}.
        seed: fixes the parts and their order (numpy.random.default_rng(seed)).

    Returns:
        [rest, *parts] as Splits, parts in the order of `fractions`.

    Example:
    >>> train, validation, test = carve(pool, {"validation": 0.1, "test": 0.1}, seed=0)
    """
    for name, fraction in fractions.items():
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise DataError(f"{name} fraction must be a number between 0 and 1 (exclusive), got {fraction!r}")
    if sum(fractions.values()) >= 1:
        given = " + ".join(f"{name} {fraction:g}" for name, fraction in fractions.items())
        raise DataError(f"the fractions add up to 1 or more ({given}); accepted: a sum below 1, "
                        f"leaving examples for training")
    group_ids = {}
    group_of_row = np.array([group_ids.setdefault(text, len(group_ids)) for text in pool.texts], dtype=np.int64)
    groups = len(group_ids)
    counts = [max(1, round(groups * fraction)) for fraction in fractions.values()]
    if sum(counts) >= groups:
        raise DataError(f"cannot carve {', '.join(f'{name} ({count})' for name, count in zip(fractions, counts))} "
                        f"out of {groups} unique texts and keep some for training; accepted: more data or "
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


def shuffled(split: Split, seed: int) -> Split:
    """`split` in a random order fixed by `seed`."""
    return split.take(np.random.default_rng(seed).permutation(len(split)))


def capped(split: Split, max_examples: int | None) -> Split:
    """The first `max_examples` examples of `split` (all when None)."""
    return split if max_examples is None else split.take(range(min(max_examples, len(split))))
