"""Word-to-piece alignment in the graph: text whose words are separated by spaces -> the encoder inputs the
tokenizer gives for the whole text, and where each word's first piece is (for token classification)."""

import tensorflow as tf

from encoders_tf.text.inputs import text_tensor

NO_POSITION = -1  # word_starts of a word cut off by max_length, and of padding


def unknown_id(tokenizer):
    """The id a tokenizer gives unknown text ([UNK], <unk>): what a word the normalizer empties becomes."""
    if getattr(tokenizer, "unk_id", None) is not None:
        return int(tokenizer.unk_id)  # WordPiece
    if hasattr(tokenizer, "_sentencepiece"):
        return int(tokenizer._sentencepiece.string_to_id("<unk>"))
    vocabulary = getattr(tokenizer, "vocabulary", None)
    if isinstance(vocabulary, dict) and "<unk>" in vocabulary:
        return int(vocabulary["<unk>"])  # byte-level BPE (whose pieces are never empty anyway)
    raise ValueError(f"{type(tokenizer).__name__} names no unknown token (unk_id, or '<unk>' in its vocabulary); "
                     f"word alignment needs one for words that normalize to nothing")


def tokenize_words(tokenizer, text):
    """Tokenizes text of space-separated words as a whole, and says where each word's first piece is.

    Words are the runs of text between ASCII whitespace. Each word is tokenized the way it is inside the whole
    text (words after the first get their leading space back, which byte-level BPE keeps in its pieces and the
    others drop), so the ids are the tokenizer's own for the text: `[CLS] pieces [SEP]`, truncated to
    `max_length`, padded. One difference, on purpose: a word the normalizer empties (e.g. only control
    characters) gets one unknown-token piece, so that every word has a position. Words whose first piece is cut
    off by `max_length` get position -1 (no prediction) and still count in `word_count`; nothing raises.

    Args:
        tokenizer: an in-graph tokenizer (a `PackedTokenizer`: WordPiece, SentencePiece, byte-level BPE).
        text: tf.string [B] (or anything the tokenizer takes: a list of str, [B, 1], ...), words separated by
            spaces.

    Returns:
        {"token_ids": int32 [B, T], "padding_mask": bool [B, T], "word_starts": int32 [B, W] (the position in
        token_ids of each word's first piece; -1 for words cut off and for padding), "word_count": int32 [B]
        (words in each text, cut-off words included)}; W is the most words of a text in the batch.

    Example:
    >>> from encoders_tf.text import WordPieceTokenizer
    >>> tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "##s", "day"], max_length=5)
    >>> out = tokenize_words(tokenizer, ["goods day day"])
    >>> out["token_ids"].numpy().tolist(), out["word_starts"].numpy().tolist(), out["word_count"].numpy().tolist()
    ([[2, 4, 5, 6, 3]], [[1, 3, -1]], [3])
    """
    from encoders_tf.text.packing import pack  # here, so that packing.py can import the mixin below

    if not tf.is_tensor(text):
        text = text_tensor(text, "text")
    text = tokenizer._clean(text)  # [B], valid UTF-8
    words = tf.strings.split(text)  # ragged [B, (W)]
    flat = words.flat_values  # [N]
    first_of_row = tf.gather(words.row_splits, words.value_rowids())  # [N]: flat index of each row's first word
    is_first = tf.range(tf.size(flat, out_type=tf.int64)) == first_of_row
    pieces = tokenizer.pieces(tf.where(is_first, flat, " " + flat))  # ragged [N, (p)]
    pieces = tf.cast(pieces, tf.int32).with_row_splits_dtype(tf.int64)
    empty = tf.equal(pieces.row_lengths(), 0)  # [N]
    unknown = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(tf.cast(empty, tf.int32))], unknown_id(tokenizer)), tf.cast(empty, tf.int64))
    pieces = tf.concat([pieces, unknown], axis=1)  # every word has at least one piece

    counts = pieces.row_lengths()  # [N]
    running = tf.concat([[0], tf.cumsum(counts)], axis=0)  # [N + 1]: pieces before each flat word
    before = running[:-1] - tf.gather(running, first_of_row)  # [N]: pieces before each word in its own text
    specials = 1 + (tokenizer.start_id is not None)
    kept = tokenizer.max_length - specials  # pieces a text keeps
    offset = 0 if tokenizer.start_id is None else 1
    starts = tf.where(before < kept, tf.cast(before, tf.int32) + offset, NO_POSITION)  # [N]

    outputs = pack(words.with_flat_values(pieces).merge_dims(1, 2), tokenizer.max_length, tokenizer.end_id,
                   tokenizer.pad_id, start_id=tokenizer.start_id, pad_to_max_length=tokenizer.pad_to_max_length)
    outputs["word_starts"] = words.with_flat_values(starts).to_tensor(default_value=NO_POSITION)  # [B, W]
    outputs["word_count"] = tf.cast(words.row_lengths(), tf.int32)
    return outputs
