"""Packing token pieces into model inputs (specials around each row, truncation, padding, the mask), and the
base layer every in-graph tokenizer shares."""

import keras
import tensorflow as tf


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
    specials = 1 if start_id is None else 2
    pieces = tf.cast(pieces[:, : max_length - specials], tf.int32)
    batch = tf.shape(pieces.row_lengths())[0]
    parts = [pieces, tf.fill([batch, 1], end_id)]
    if start_id is not None:
        parts.insert(0, tf.fill([batch, 1], start_id))
    ids = tf.concat(parts, axis=1)
    length = max_length if pad_to_max_length else None
    token_ids = ids.to_tensor(default_value=pad_id, shape=[None, length])  # [B, T]
    padding_mask = tf.sequence_mask(ids.row_lengths(), tf.shape(token_ids)[1])
    return {"token_ids": token_ids, "padding_mask": padding_mask}


def check_max_length(max_length, specials):
    if not isinstance(max_length, int) or max_length < specials:
        raise ValueError(f"max_length must be an integer of at least {specials} (room for the special tokens), "
                         f"got {max_length!r}")


class PackedTokenizer(keras.layers.Layer):
    """Base of the in-graph tokenizers: text -> `pieces` (each subclass) -> packed ids and mask.

    Input tf.string [B] (or [B, 1]); invalid UTF-8 is replaced, never raised. Subclasses set `max_length`,
    `pad_to_max_length`, `start_id` (or None), `end_id`, `pad_id`, and define `pieces(text)` -> ragged [B, (n)].
    """

    def call(self, text):
        """text: tf.string [B] (or [B, 1]) -> {"token_ids": int32 [B, T], "padding_mask": bool [B, T]}."""
        text = tf.convert_to_tensor(text, dtype=tf.string)
        if text.shape.rank == 2:
            text = tf.squeeze(text, axis=-1)
        text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")
        return pack(self.pieces(text), self.max_length, self.end_id, self.pad_id, start_id=self.start_id,
                    pad_to_max_length=self.pad_to_max_length)

    def compute_output_spec(self, text):
        length = self.max_length if self.pad_to_max_length else None
        return {"token_ids": keras.KerasTensor((text.shape[0], length), dtype="int32"),
                "padding_mask": keras.KerasTensor((text.shape[0], length), dtype="bool")}
