"""Serving speed against sequence length: a model's length probe (its architecture, weights and vocabulary, made to
take texts of every measured length) and texts of an exact token count."""

from __future__ import annotations

import numpy as np


def length_probe(model, config, max_length):
    """A TextClassifier like `model` whose tokenizer and encoder take `max_length` tokens.

    The weights are copied; a learned position table longer than the original gets its first rows copied and
    the rest as initialized (speed does not depend on them). Only speed may be read from the probe: past the
    trained length its predictions mean nothing.

    Args:
        model: a TextClassifier.
        config: its EncoderConfig.
        max_length: the longest text the probe must take, in tokens.
    """
    from encoders_tf.encoders import build_encoder
    from encoders_tf.tasks import TextClassifier

    tokenizer = type(model.tokenizer).from_config({**model.tokenizer.get_config(), "max_length": max_length})
    encoder = build_encoder(config.replace(max_length=max(max_length, config.max_length)))
    probe = TextClassifier(tokenizer, encoder, model.num_classes, class_names=model.class_names,
                           text_pair=model.text_pair)
    probe.build()
    for new, old in zip(probe.weights, model.weights, strict=True):
        value = old.numpy()
        if tuple(new.shape) != value.shape:  # a longer position table: the trained rows first
            value = np.concatenate([value, new.numpy()[value.shape[0]:]], axis=0)
        new.assign(value)
    return probe


def texts_of_length(tokenizers, words, length, count):
    """`count` texts that every tokenizer cuts into exactly `length` tokens, specials included.

    Built from `words` that each tokenizer reads as one piece, cycled from a different start for each text.

    Args:
        tokenizers: the models' tokenizer layers.
        words: candidate words (e.g. those of the test split).
        length: tokens per text, including [CLS] and [SEP].
        count: how many texts.
    """
    single = _single_piece_words(tokenizers, words)
    if not single:
        raise ValueError("no word is one piece for every tokenizer; cannot build texts of an exact length")
    n = length - 2
    return [" ".join(single[(start + i) % len(single)] for i in range(n)) for start in range(count)]


def _single_piece_words(tokenizers, words, limit=2000):
    import tensorflow as tf

    candidates = sorted({word for word in words if word.isalpha()})[:limit]
    kept = np.ones(len(candidates), bool)
    for tokenizer in tokenizers:
        pieces = tokenizer.pieces(tf.constant(candidates))
        kept &= pieces.row_lengths().numpy() == 1
    return [word for word, keep in zip(candidates, kept) if keep]
