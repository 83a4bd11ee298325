"""Data splits as Python lists and NumPy labels, deterministic splitting, and tf.data pipelines."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from encoders_tf.data.errors import DataError

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class Split:
    """Texts and their integer class ids."""

    texts: tuple
    labels: np.ndarray

    def __len__(self):
        return len(self.texts)

    def take(self, indices) -> "Split":
        return Split(tuple(self.texts[i] for i in indices), self.labels[np.asarray(indices, dtype=np.int64)])


def make_split(texts, labels) -> Split:
    return Split(tuple(texts), np.asarray(labels, dtype=np.int64))


@dataclasses.dataclass(frozen=True)
class TextDataset:
    """A labelled text data set: train, validation and test splits and the class names."""

    name: str
    train: Split
    validation: Split
    test: Split
    class_names: tuple
    skipped_rows: int = 0

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def split(self, name: str) -> Split:
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; accepted: {', '.join(SPLITS)}")
        return getattr(self, name)


def shuffled(split: Split, seed: int) -> Split:
    return split.take(np.random.default_rng(seed).permutation(len(split)))


def carve(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """(rest, carved): a deterministic random `fraction` of `split` carved out (at least one example)."""
    order = np.random.default_rng(seed).permutation(len(split))
    count = max(1, int(round(len(split) * fraction)))
    if count >= len(split):
        raise DataError(f"cannot carve {fraction:.0%} out of {len(split)} examples and keep some for training")
    return split.take(order[count:]), split.take(order[:count])


def to_tf_dataset(split: Split, batch_size: int, *, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
    """Batches of (text tf.string [B], label int64 [B]); the shuffle order is fixed by `seed`.

    Example:
    >>> texts, labels = next(iter(to_tf_dataset(data.train, 32, shuffle=True)))
    """
    dataset = tf.data.Dataset.from_tensor_slices(
        (tf.constant(list(split.texts), dtype=tf.string), tf.constant(split.labels, dtype=tf.int64)))
    if shuffle:
        dataset = dataset.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
