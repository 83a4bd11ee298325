"""Document windows: long documents cut into consecutive `max_length` rows, not truncated to one."""

import numpy as np
import tensorflow as tf

from encoders_tf.text.packing import pack


def window_pieces(pieces, size):
    """Cuts each document's pieces into consecutive windows of at most `size` pieces.

    A document of n pieces gives ceil(n / size) windows, all full but the last; an empty document gives
    none. The windows keep the documents' order and every piece, in order.

    Args:
        pieces: ragged int [B, (n)], the pieces of B documents.
        size: most pieces a window holds, at least 1.

    Returns:
        ragged int [W, (<= size)]: the windows of every document, document after document.

    Example:
    >>> window_pieces(tf.ragged.constant([[1, 2, 3, 4, 5], [], [6]]), 2)
    <tf.RaggedTensor [[1, 2], [3, 4], [5], [6]]>
    """
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"the window size must be a positive integer, got {size!r}")
    lengths = tf.cast(pieces.row_lengths(), tf.int64)  # [B]
    counts = (lengths + size - 1) // size  # windows per document, [B]
    starts = tf.ragged.range(counts) * size  # [B, (windows)]: each window's first piece, within its document
    window_lengths = tf.minimum(tf.cast(size, tf.int64), tf.expand_dims(lengths, 1) - starts)
    return tf.RaggedTensor.from_row_lengths(pieces.flat_values, window_lengths.flat_values)


def document_windows(tokenizer, documents, batch_size=512):
    """Every window of `documents` packed for the encoder: [CLS] up to max_length-2 pieces [SEP], padded.

    The documents are tokenized once, in batches (the tokenizer's normalization and WordPiece ops), and
    each is cut into `tokenizer.max_length - 2` piece windows (`window_pieces`): a long document gives
    several rows, covering all its pieces. Rows are padded with [PAD] to `max_length`, so batches keep one
    shape (XLA compiles once).

    Args:
        tokenizer: an in-graph tokenizer with `pieces(text)`, `max_length`, `start_id`, `end_id`, `pad_id`
            (WordPieceTokenizer and the other PackedTokenizers).
        documents: a list of strings (or UTF-8 bytes); invalid UTF-8 is replaced.
        batch_size: documents tokenized at a time.

    Returns:
        {"token_ids": int32 [W, max_length], "padding_mask": int32 [W, max_length]} as NumPy arrays, and the
        document each row came from, "document": int64 [W].

    Example:
    >>> from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
    >>> vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
    >>> tokenizer = WordPieceTokenizer(vocabulary, max_length=16)  # windows of 14 pieces
    >>> windows = document_windows(tokenizer, ["a lovely film " * 20, "dull"])  # 60 pieces, then 1
    >>> windows["token_ids"].shape, windows["document"].tolist()
    ((6, 16), [0, 0, 0, 0, 0, 1])
    """
    size = tokenizer.max_length - 2 if tokenizer.start_id is not None else tokenizer.max_length - 1

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)], autograph=False)
    def windows_of(texts):  # -> ([W, max_length] ids, [W, max_length] mask, [W] document index in the batch)
        pieces = tokenizer.pieces(tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace"))
        pieces = tf.cast(pieces, tf.int32)
        windows = window_pieces(pieces, size)
        lengths = tf.cast(pieces.row_lengths(), tf.int64)
        documents = tf.repeat(tf.range(tf.shape(lengths, tf.int64)[0]), (lengths + size - 1) // size)
        packed = pack(windows, tokenizer.max_length, tokenizer.end_id, tokenizer.pad_id,
                      start_id=tokenizer.start_id, pad_to_max_length=True)
        return packed["token_ids"], tf.cast(packed["padding_mask"], tf.int32), documents

    ids, masks, owners = [], [], []
    documents = list(documents)
    for first in range(0, len(documents), batch_size):
        batch = [text if isinstance(text, bytes) else str(text).encode("utf-8", "surrogatepass")
                 for text in documents[first:first + batch_size]]
        token_ids, padding_mask, owner = windows_of(tf.constant(batch, tf.string))
        ids.append(token_ids.numpy())
        masks.append(padding_mask.numpy())
        owners.append(owner.numpy() + first)
    length = tokenizer.max_length
    return {"token_ids": np.concatenate(ids) if ids else np.zeros((0, length), np.int32),
            "padding_mask": np.concatenate(masks) if masks else np.zeros((0, length), np.int32),
            "document": np.concatenate(owners) if owners else np.zeros((0,), np.int64)}
