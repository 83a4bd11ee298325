"""Transfer-set augmentation (Tang et al. 2019, "Distilling Task-Specific Knowledge from BERT into Simple Neural
Networks"): new training texts made from the training split's, by word masking, word swap and deletion (in
place of the paper's same-part-of-speech swap, which needs a tagger) and n-gram sampling."""

from __future__ import annotations

import dataclasses

import numpy as np

from encoders_tf.data.dataset import Split
from encoders_tf.errors import InputError

MASK = "[MASK]"


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """How `augment` changes a text; each copy draws afresh.

    Args:
        factor: copies made of each text (0: none); a copy equal to its text or to an earlier copy is dropped,
            as in the paper.
        mask: probability that a word becomes `[MASK]`.
        swap: keras-hub `RandomSwap` rate: probability that a word is swapped with another.
        delete: keras-hub `RandomDeletion` rate: probability that a word is deleted (a word always remains).
        ngram: probability that the copy is cut to a random n-gram of its words, n uniform in 1..5.
        pair_swap: pair data only: each training pair (a, b) also given as (b, a), with its label; for relations
            that do not depend on the order (paraphrase, similarity), not for entailment.
        seed: the seed of every draw.

    Example:
    >>> texts, sources = augment(["a truly lovely film", "dull"], Augmentation(factor=2, mask=0.5, seed=1))
    >>> len(texts) == len(sources) and set(sources) <= {0, 1}
    True
    """

    factor: int = 0
    mask: float = 0.1
    swap: float = 0.1
    delete: float = 0.1
    ngram: float = 0.25
    pair_swap: bool = False
    seed: int = 0

    def __post_init__(self):
        if isinstance(self.factor, bool) or not isinstance(self.factor, int) or self.factor < 0:
            raise InputError(f"the augment factor must be an integer >= 0 (copies of each training text), "
                             f"got {self.factor!r}")
        for name in ("mask", "swap", "delete", "ngram"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise InputError(f"the augmentation probability {name} must be in [0, 1], got {value!r}")

    def to_dict(self):
        return dataclasses.asdict(self)


def augment(texts, augmentation, pairs=None):
    """(new texts, index of the text each comes from) made by `augmentation`; with `pairs`, new
    (text, pair) tuples, both sides changed.

    Copy k of every text is drawn from the generator seeded (seed, k), so the result depends only on the
    texts and the options. Only training texts should be given: validation and test texts stay untouched.

    Args:
        texts: the training texts.
        augmentation: an Augmentation.
        pairs: the second texts of pair data, or None.
    """
    from keras_hub.layers import RandomDeletion, RandomSwap

    rows = [text.split() for text in texts]
    pair_rows = None if pairs is None else [text.split() for text in pairs]
    swap = RandomSwap(rate=augmentation.swap, seed=augmentation.seed, dtype="string")
    delete = RandomDeletion(rate=augmentation.delete, seed=augmentation.seed, dtype="string")
    seen = set(zip(texts, pairs)) if pairs is not None else set(texts)
    new, sources = [], []
    for copy in range(augmentation.factor):
        rng = np.random.default_rng([augmentation.seed, copy])
        changed = _changed(rows, augmentation, rng, swap, delete)
        changed_pairs = None if pair_rows is None else _changed(pair_rows, augmentation, rng, swap, delete)
        for index, words in enumerate(changed):
            text = " ".join(words) if pairs is None else (" ".join(words), " ".join(changed_pairs[index]))
            if text not in seen:
                seen.add(text)
                new.append(text)
                sources.append(index)
    return new, sources


def _changed(rows, augmentation, rng, swap, delete):
    """Every row of words masked, swapped, deleted from and n-gram sampled, drawing from `rng` in order."""
    rows = [[MASK if draw < augmentation.mask else word for word, draw in zip(words, rng.random(len(words)))]
            for words in rows]
    if augmentation.swap:
        rows = _python_lists(swap(rows, rng=rng)) if any(len(words) > 1 for words in rows) else rows
    if augmentation.delete:
        rows = [kept or original[:1] for kept, original in zip(_python_lists(delete(rows, rng=rng)), rows)]
    sampled = rng.random(len(rows)) < augmentation.ngram
    lengths = rng.integers(1, 6, len(rows))
    starts = rng.random(len(rows))
    return [words[int(start * (len(words) - min(n, len(words)) + 1)):][:n] if cut and words else words
            for words, cut, n, start in zip(rows, sampled, lengths, starts)]


def _python_lists(rows):
    return [[token.decode() if isinstance(token, bytes) else str(token) for token in words] for words in rows]


def augment_split(split, augmentation, copies_labelled=True):
    """`split`, then (with `pair_swap`) its pairs with their texts swapped, then the augmented copies of its
    texts (pairs: of both texts), as one Split.

    Args:
        split: a training Split.
        augmentation: an Augmentation.
        copies_labelled: a new example takes the label of the one it comes from (label-preserving
            augmentation); False gives new examples the label -1 (for a teacher to label).
    """
    if augmentation.pair_swap and split.pairs is None:
        raise InputError("swapping the texts of pairs (--augment-pair-swap) needs pair data (a second text "
                         "column, e.g. --text-pair-column or the mrpc data set); this data has one text per example")
    if not augmentation.factor and not augmentation.pair_swap:
        return split
    texts, pairs = list(split.texts), None if split.pairs is None else list(split.pairs)
    sources = []
    if augmentation.pair_swap:
        swapped = [index for index, (text, pair) in enumerate(zip(split.texts, split.pairs)) if text != pair]
        texts += [split.pairs[index] for index in swapped]
        pairs += [split.texts[index] for index in swapped]
        sources += swapped
    new, new_sources = augment(split.texts, augmentation, split.pairs)
    texts += new if pairs is None else [text for text, _ in new]
    if pairs is not None:
        pairs += [pair for _, pair in new]
    sources += new_sources
    labels = split.labels[sources] if copies_labelled else np.full(len(sources), -1, np.int64)
    return Split(tuple(texts), np.concatenate([split.labels, labels]),
                 pairs=None if pairs is None else tuple(pairs))
