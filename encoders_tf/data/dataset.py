"""Splits of (text, label) or (text, text pair, label) and the data sets made of them, and batches of them as
tf.data."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from encoders_tf.data.by_length import group_by_length as group_by_length_batches
from encoders_tf.data.errors import DataError

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True, eq=False)
class Split:
    """Texts (or pairs of texts) and their class ids.

    Args:
        texts: the texts (stored as a tuple of str); the first text of each pair.
        labels: their class ids (stored as int64 [N]).
        pairs: None, or the second text of each pair (stored as a tuple of str, aligned with `texts`).
        groups: None, or a key per example (stored as int64 [N]): when a validation or test split is carved
            out (`splits.carve`), examples with the same key stay together, beyond those sharing a text; e.g.
            SST-2's phrases, grouped by the sentence they were cut from.

    Example:
    >>> split = Split(["a fine film", "dull"], [1, 0])
    >>> len(split), split.labels.dtype, split.has_pairs
    (2, dtype('int64'), False)
    >>> Split(["He left."], [1], pairs=["He went away."]).has_pairs
    True
    """

    texts: tuple
    labels: np.ndarray
    pairs: tuple | None = None
    groups: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(self, "texts", tuple(self.texts))
        object.__setattr__(self, "labels", np.asarray(self.labels, dtype=np.int64).reshape(-1))
        if len(self.texts) != len(self.labels):
            raise DataError(f"a split needs one label per text; got {len(self.texts)} texts and "
                            f"{len(self.labels)} labels")
        if self.pairs is not None:
            object.__setattr__(self, "pairs", tuple(self.pairs))
            if len(self.pairs) != len(self.texts):
                raise DataError(f"a split of pairs needs one second text per text; got {len(self.texts)} texts "
                                f"and {len(self.pairs)} second texts")
        if self.groups is not None:
            object.__setattr__(self, "groups", np.asarray(self.groups, dtype=np.int64).reshape(-1))
            if len(self.groups) != len(self.texts):
                raise DataError(f"a split with groups needs one group per text; got {len(self.texts)} texts and "
                                f"{len(self.groups)} groups")

    @property
    def has_pairs(self) -> bool:
        """Whether the examples are pairs of texts."""
        return self.pairs is not None

    def __len__(self):
        return len(self.texts)

    def __repr__(self):  # the texts themselves would flood logs and test reports
        return f"{type(self).__name__}({len(self)} examples)"

    def take(self, indices) -> Split:
        """The examples at `indices`, in that order (pairs and groups stay with their texts)."""
        indices = np.asarray(indices, dtype=np.int64)
        pairs = None if self.pairs is None else tuple(self.pairs[i] for i in indices)
        groups = None if self.groups is None else self.groups[indices]
        return Split(tuple(self.texts[i] for i in indices), self.labels[indices], pairs, groups)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class LabelledFile(Split):
    """A whole labelled file: a Split, its class names ("0", "1", ...) and the rows skipped as malformed."""

    class_names: tuple = ()
    skipped_rows: int = 0


@dataclasses.dataclass(frozen=True, eq=False)
class TextDataset:
    """A labelled text data set: train, validation and test splits and the class names (index = class id).

    Its splits hold single texts, or all hold pairs of texts (`has_pairs`, e.g. MRPC).

    Example:
    >>> from encoders_tf.data import load_dataset
    >>> data = load_dataset("tweets")
    >>> data.num_classes, data.class_names[0], len(data.split("test")) > 0
    (3, 'negative', True)
    """

    name: str
    train: Split
    validation: Split
    test: Split
    class_names: tuple
    skipped_rows: int = 0

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def has_pairs(self) -> bool:
        """Whether the examples are pairs of texts (the model then takes `text` and `text_pair`)."""
        return self.train.has_pairs

    def split(self, name: str) -> Split:
        """The split called `name`: "train", "validation" or "test"."""
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; accepted: {', '.join(SPLITS)}")
        return getattr(self, name)


def to_tf_dataset(split: Split, batch_size: int, *, shuffle: bool = False, seed: int = 0,
                  targets=None, group_by_length: bool = False) -> tf.data.Dataset:
    """Batches of (text tf.string [B], label int64 [B]), or for pairs ({"text": tf.string [B], "text_pair":
    tf.string [B]}, label int64 [B]); prefetched; the last batch may be smaller.

    Args:
        split: the examples.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch, in an order fixed by `seed` (the same for a new dataset and seed).
        seed: the shuffle seed.
        targets: each example's target in place of its label: an array [N, ...] or a dict of them.
        group_by_length: batches of texts of similar length (encoders_tf.data.by_length), which pad less.

    Example:
    >>> split = Split(["a fine film", "dull", "superb"], [1, 0, 1])
    >>> texts, labels = next(iter(to_tf_dataset(split, 2, shuffle=True, seed=0)))
    >>> texts.dtype, labels.shape
    (tf.string, TensorShape([2]))
    >>> inputs, labels = next(iter(to_tf_dataset(Split(["He left."], [1], pairs=["He went away."]), 32)))
    >>> sorted(inputs)
    ['text', 'text_pair']
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise DataError(f"batch_size must be a positive integer, got {batch_size!r}")
    inputs = tf.constant(list(split.texts), dtype=tf.string, shape=[len(split)])
    if split.pairs is not None:
        inputs = {"text": inputs, "text_pair": tf.constant(list(split.pairs), dtype=tf.string, shape=[len(split)])}
    if targets is None:
        targets = tf.constant(split.labels, dtype=tf.int64)
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        dataset = dataset.shuffle(max(1, len(split)), seed=seed, reshuffle_each_iteration=True)
    if group_by_length:
        return group_by_length_batches(dataset, batch_size, seed if shuffle else None).prefetch(tf.data.AUTOTUNE)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
