"""Texts of similar length together: batches padded to their longest text waste less on padding.

The tokenizer pads each batch to its longest row, so a batch of random SST-2 phrases (13 tokens on average)
is padded to about 41 tokens; sorted groups bring that to about 14, and a MiniLM-sized model trains twice as
fast (benchmarks/speed.py's `grouping`). Training groups `GROUP_BATCHES` batches of shuffled examples at a time (Hugging Face's
`group_by_length` megabatches), so batches stay random draws of the data, only of similar lengths; prediction
sorts the whole input and puts the outputs back in the caller's order.
"""

import numpy as np
import tensorflow as tf

GROUP_BATCHES = 50  # batches sorted together: enough to find neighbours in length, few enough to stay random


def group_by_length(dataset, batch_size, seed=None, ragged=False):
    """Batches of `dataset`'s (inputs, targets) examples, each batch's texts of similar length.

    Examples are taken `GROUP_BATCHES` batches at a time, in the dataset's order, sorted by character length
    (of both texts of a pair), cut into batches, and the batches shuffled within about a group. The batches
    are as many as `dataset.batch(batch_size)` makes, all full but the last group's last one.

    Args:
        dataset: unbatched examples (text tf.string, target) or ({"text", "text_pair"}, target); the target
            may be a dict, or ragged (then `ragged=True`).
        batch_size: examples per batch.
        seed: the batch shuffle's seed (reshuffled every iteration); None keeps the sorted order (prediction).
        ragged: batch with `ragged_batch` (targets of varying length, such as a sentence's tags).

    Example:
    >>> texts = tf.data.Dataset.from_tensor_slices((["a b c", "a", "a b", "a b c d"], [3, 1, 2, 4]))
    >>> [labels.numpy().tolist() for _, labels in group_by_length(texts, 2)]
    [[1, 2], [3, 4]]
    """
    batch = (lambda data, size: data.ragged_batch(size)) if ragged else (lambda data, size: data.batch(size))

    @tf.autograph.experimental.do_not_convert
    def sort(inputs, targets):
        texts = [inputs["text"], inputs["text_pair"]] if isinstance(inputs, dict) else [inputs]
        order = tf.argsort(tf.add_n([tf.strings.length(text) for text in texts]), stable=True)
        return tf.nest.map_structure(lambda values: tf.gather(values, order), (inputs, targets))

    batches = batch(batch(dataset, batch_size * GROUP_BATCHES).map(sort).unbatch(), batch_size)
    examples = int(dataset.cardinality())
    if examples >= 0:  # unbatch() loses the count, which progress bars and step counts read
        batches = batches.apply(tf.data.experimental.assert_cardinality(-(-examples // batch_size)))
    return batches if seed is None else batches.shuffle(GROUP_BATCHES, seed=seed, reshuffle_each_iteration=True)


def text_batches(texts, pairs, batch_size):
    """Batches of the texts (and pairs): tuples of tf.string [B] tensors, in the given order."""
    columns = (texts,) if pairs is None else (texts, pairs)
    return tf.data.Dataset.from_tensor_slices(tuple(tf.constant(c, tf.string) for c in columns)).batch(batch_size)


def in_length_order(function, texts, pairs=None):
    """`function(texts, pairs)` (an array, a row per text) called on the texts sorted by length, its rows put
    back in the order of `texts`; for batched prediction, whose batches then pad little.

    Args:
        function: (list of texts, list of pairs or None) -> array [N, ...].
        texts: the texts.
        pairs: None, or each text's second text.

    Example:
    >>> in_length_order(lambda texts, pairs: np.array([len(t) for t in texts]), ["abc", "a", "ab"])
    array([3, 1, 2])
    """
    texts = list(texts)
    lengths = np.array([len(text) for text in texts], np.int64)
    if pairs is not None:
        pairs = list(pairs)
        lengths += np.array([len(pair) for pair in pairs], np.int64)
    order = np.argsort(lengths, kind="stable")
    outputs = function([texts[i] for i in order], None if pairs is None else [pairs[i] for i in order])
    restored = np.empty_like(outputs)
    restored[order] = outputs
    return restored
