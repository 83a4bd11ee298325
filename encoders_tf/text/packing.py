"""Packing token pieces into model inputs (specials around each row or pair, truncation, padding, the mask,
segment ids), and the base layer every in-graph tokenizer shares."""

import keras
import tensorflow as tf

from encoders_tf.text.inputs import text_tensor


def pack(pieces, max_length, end_id, pad_id, start_id=None, pad_to_max_length=False):
    """[start] pieces [end], cut to `max_length` ids, padded with `pad_id` to the longest row (or max_length).

    Args:
        pieces: ragged int32 [B, (pieces)].
        max_length: most ids per row, specials included.
        end_id: id closing every row ([SEP], </s>).
        pad_id: id of padding.
        start_id: id opening every row ([CLS], <s>), or None (T5 has none).
        pad_to_max_length: pad every batch to max_length.

    Returns:
        {"token_ids": int32 [B, T], "padding_mask": bool [B, T]}.
    """
    # Dense ops from the start: the ragged slice and concat this replaces built a graph that took 55-65 ms to
    # instantiate, paid by every tf.data iterator over tokenizing batches (each epoch, before its first step).
    specials = 1 if start_id is None else 2
    lengths = tf.minimum(tf.cast(pieces.row_lengths(), tf.int32), max_length - specials)  # pieces kept [B]
    kept = tf.cast(pieces.to_tensor(default_value=pad_id, shape=[None, max_length - specials]), tf.int32)
    batch = tf.shape(kept)[0]
    parts = [kept, tf.fill([batch, 1], pad_id)]  # the last column makes room for the end id
    if start_id is not None:
        parts.insert(0, tf.fill([batch, 1], start_id))
    width = max_length if pad_to_max_length else tf.reduce_max(tf.concat([lengths + specials, [0]], 0))
    ids = tf.concat(parts, axis=1)[:, :width]  # [B, T]
    positions = tf.range(tf.shape(ids)[1])[tf.newaxis, :]
    ends = (lengths + specials - 1)[:, tf.newaxis]  # where each row's end id goes
    return {"token_ids": tf.where(positions == ends, end_id, ids), "padding_mask": positions <= ends}


def longest_first_lengths(first_lengths, second_lengths, budget):
    """How many pieces of each text a pair keeps: Hugging Face's `longest_first` truncation, in closed form.

    Pairs that fit keep everything. Otherwise the longer text is shortened first: when the shorter one fits in
    half the budget it is kept whole and the longer one gets the rest; else each gets half, the odd piece going
    to the longer text (the second on a tie). This is what the Hugging Face fast tokenizers (the `tokenizers`
    library) compute; TF Text's RoundRobinTrimmer gives the odd piece to the first text instead.

    Args:
        first_lengths: int32 [B], pieces of the first texts.
        second_lengths: int32 [B], pieces of the second texts.
        budget: pieces a pair may keep (max_length minus its special tokens), at least 0.

    Returns:
        (first kept int32 [B], second kept int32 [B]).

    Example:
    >>> [t.numpy().tolist() for t in longest_first_lengths(tf.constant([10, 2, 10]), tf.constant([10, 9, 3]), 7)]
    [[3, 2, 4], [4, 5, 3]]
    """
    first_longer = first_lengths > second_lengths
    shorter = tf.minimum(first_lengths, second_lengths)
    half, other_half = budget // 2, budget - budget // 2
    fits = first_lengths + second_lengths <= budget
    shorter_fits_half = 2 * shorter <= budget
    first = tf.where(fits, first_lengths, tf.where(
        shorter_fits_half, tf.where(first_longer, budget - second_lengths, first_lengths),
        tf.where(first_longer, other_half, half)))
    second = tf.where(fits, second_lengths, tf.where(
        shorter_fits_half, tf.where(first_longer, second_lengths, budget - first_lengths),
        tf.where(first_longer, half, other_half)))
    return first, second


def pack_pair(first, second, max_length, end_id, pad_id, start_id=None, separator_ids=None,
              pad_to_max_length=False):
    """[start] first separator second [end], truncated longest-first to `max_length`, padded, with segment ids.

    Args:
        first: ragged int [B, (pieces)], the first texts' pieces.
        second: ragged int [B, (pieces)], the second texts' pieces.
        max_length: most ids per row, specials included.
        end_id: id closing every row.
        pad_id: id of padding.
        start_id: id opening every row, or None (T5).
        separator_ids: ids between the two texts (default [end_id]; RoBERTa: </s></s>).
        pad_to_max_length: pad every batch to max_length.

    Returns:
        {"token_ids": int32 [B, T], "padding_mask": bool [B, T], "segment_ids": int32 [B, T]}: segment 0 is
        the start token, the first text and the separator; segment 1 the second text and the end token;
        padding is 0.

    Example:
    >>> pack_pair(tf.ragged.constant([[7, 8, 9]]), tf.ragged.constant([[5]]), 6, end_id=3, pad_id=0,
    ...           start_id=2)["token_ids"]
    <tf.Tensor: shape=(1, 6), dtype=int32, numpy=array([[2, 7, 8, 3, 5, 3]], dtype=int32)>
    """
    separator_ids = [end_id] if separator_ids is None else list(separator_ids)
    head = 0 if start_id is None else 1
    budget = max_length - len(separator_ids) - 1 - head
    first_kept, second_kept = longest_first_lengths(
        tf.cast(first.row_lengths(), tf.int32), tf.cast(second.row_lengths(), tf.int32), budget)
    # Each position of a row, in dense ops (as `pack`): which part it falls in, and its id there.
    first_end = (head + first_kept)[:, tf.newaxis]  # [B, 1]: where the separator starts
    second_start = first_end + len(separator_ids)
    end = second_start + second_kept[:, tf.newaxis]  # the end id's position
    width = max_length if pad_to_max_length else tf.reduce_max(tf.concat([end[:, 0] + 1, [0]], 0))
    positions = tf.range(width)[tf.newaxis, :] + tf.zeros_like(end)  # [B, T]

    def take(pieces, start):
        """ragged [B, (n)] -> [B, T]: row i's piece at each position - start[i] (clipped: the caller masks)."""
        ids = tf.pad(tf.cast(pieces.to_tensor(default_value=pad_id), tf.int32), [[0, 0], [0, 1]])  # >= 1 column
        return tf.gather(ids, tf.clip_by_value(positions - start, 0, tf.shape(ids)[1] - 1), batch_dims=1)

    separators = tf.gather(tf.constant(separator_ids, tf.int32),
                           tf.clip_by_value(positions - first_end, 0, len(separator_ids) - 1))
    token_ids = tf.where(positions < first_end, take(first, head),
                         tf.where(positions < second_start, separators,
                                  tf.where(positions < end, take(second, second_start),
                                           tf.where(positions == end, end_id, pad_id))))
    if start_id is not None:
        token_ids = tf.where(positions == 0, start_id, token_ids)
    return {"token_ids": token_ids,  # [B, T]
            "padding_mask": positions <= end,
            "segment_ids": tf.cast((positions >= second_start) & (positions <= end), tf.int32)}


def check_max_length(max_length, specials):
    if not isinstance(max_length, int) or max_length < specials:
        raise ValueError(f"max_length must be an integer of at least {specials} (room for the special tokens), "
                         f"got {max_length!r}")


class PackedTokenizer(keras.layers.Layer):
    """Base of the in-graph tokenizers: text -> `pieces` (each subclass) -> packed ids and mask.

    Takes what users pass (see `__call__`): a str, a list or tuple of str, a NumPy array of str, bytes or
    objects, or a tf.string tensor of shape [], [B] or [B, 1]; invalid UTF-8 is replaced, never raised. A
    single string (shape []) gives one unbatched row, [T], as keras-hub's tokenizers do; a batch gives
    [B, T]. A second text packs pairs and adds `segment_ids`. Subclasses set `max_length`,
    `pad_to_max_length`, `start_id` (or None), `end_id`, `pad_id`, and define `pieces(text)` -> ragged
    [B, (n)]; `separator_ids` (the ids between two texts of a pair) defaults to [end_id].
    """

    @property
    def separator_ids(self):
        """The ids between the two texts of a pair: [end_id] ([SEP]; T5's </s>)."""
        return [self.end_id]

    def __call__(self, text, text_pair=None, **kwargs):
        """Tokenizes `text` (and packs it with `text_pair` when given).

        Args:
            text: a str or bytes, a list or tuple of them, a NumPy array of str/bytes/object dtype, or a
                tf.string tensor (or string keras.Input) of shape [], [B] or [B, 1].
            text_pair: None, or second texts of the same kind and batch size.

        Returns:
            {"token_ids": int32, "padding_mask": bool} of shape [B, T] ([T] for one string), and for pairs
            "segment_ids" int32 of the same shape.

        Raises:
            TypeError, ValueError: input that is not text of an accepted shape, saying what was given.

        Example:
        >>> from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
        >>> vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
        >>> tokenizer = WordPieceTokenizer(vocabulary, max_length=16)
        >>> tuple(tokenizer(["a lovely film", "dull"])["token_ids"].shape)
        (2, 5)
        >>> tokenizer("a lovely film", "a dull film")["segment_ids"]
        <tf.Tensor: shape=(9,), dtype=int32, numpy=array([0, 0, 0, 0, 0, 1, 1, 1, 1], dtype=int32)>
        """
        text = text_tensor(text, "text")
        if text_pair is None:
            return super().__call__(text, **kwargs)
        text_pair = text_tensor(text_pair, "text_pair")
        specials = len(self.separator_ids) + 1 + (self.start_id is not None)
        if self.max_length < specials:
            raise ValueError(f"max_length {self.max_length} leaves no room for the {specials} special tokens of a "
                             f"pair; accepted: a tokenizer with max_length of at least {specials} for pairs")
        ranks = (min(len(text.shape), 1), min(len(text_pair.shape), 1))
        if ranks[0] != ranks[1]:
            raise ValueError(f"text and text_pair must both be one string or both be batches; got shapes "
                             f"{tuple(text.shape)} and {tuple(text_pair.shape)}")
        if ranks[0] and None not in (text.shape[0], text_pair.shape[0]) and text.shape[0] != text_pair.shape[0]:
            raise ValueError(f"text and text_pair must hold as many texts; got {text.shape[0]} and "
                             f"{text_pair.shape[0]}")
        return super().__call__(text, text_pair, **kwargs)

    def _clean(self, text):
        """tf.string [], [B] or [B, 1] -> valid UTF-8 tf.string [B]."""
        text = tf.reshape(text, [-1]) if text.shape.rank != 1 else text
        return tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")

    def call(self, text, text_pair=None):
        """text (and text_pair): tf.string [], [B] or [B, 1] -> {"token_ids": int32 [B, T], "padding_mask": bool
        [B, T]} (+ "segment_ids" int32 [B, T] for pairs); one string gives [T]."""
        unbatched = text.shape.rank == 0
        if text_pair is None:
            outputs = pack(self.pieces(self._clean(text)), self.max_length, self.end_id, self.pad_id,
                           start_id=self.start_id, pad_to_max_length=self.pad_to_max_length)
        else:
            first, second = self._clean(text), self._clean(text_pair)
            tf.debugging.assert_equal(tf.shape(first)[0], tf.shape(second)[0],
                                      message="text and text_pair must hold as many texts")
            outputs = pack_pair(self.pieces(first), self.pieces(second), self.max_length, self.end_id,
                                self.pad_id, start_id=self.start_id, separator_ids=self.separator_ids,
                                pad_to_max_length=self.pad_to_max_length)
        if unbatched:
            outputs = {key: value[0] for key, value in outputs.items()}
        return outputs

    def compute_output_spec(self, text, text_pair=None):
        length = self.max_length if self.pad_to_max_length else None
        shape = (length,) if len(text.shape) == 0 else (text.shape[0], length)
        outputs = {"token_ids": keras.KerasTensor(shape, dtype="int32"),
                   "padding_mask": keras.KerasTensor(shape, dtype="bool")}
        if text_pair is not None:
            outputs["segment_ids"] = keras.KerasTensor(shape, dtype="int32")
        return outputs
