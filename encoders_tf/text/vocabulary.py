"""WordPiece vocabularies: trained from a corpus, or read from and written to vocab.txt files."""

import pathlib

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def train_wordpiece_vocabulary(texts, vocabulary_size, *, lowercase=True, strip_accents=True,
                               reserved_tokens=SPECIAL_TOKENS):
    """Learns a WordPiece vocabulary of at most `vocabulary_size` tokens from `texts`.

    Text is split on whitespace and punctuation (punctuation kept as tokens), lower-cased and stripped of
    accents as the tokenizer will do, then TF Text's WordPiece learner picks the pieces. The reserved
    tokens come first, so "[PAD]" is id 0 and "[UNK]" id 1 by default. The learner may return fewer
    tokens than asked when the corpus is small.

    Args:
        texts: an iterable of strings (the training split).
        vocabulary_size: the largest vocabulary wanted, reserved tokens included.
        lowercase: lower-case before learning.
        strip_accents: strip accents before learning.
        reserved_tokens: tokens placed first, in this order.

    Example:
    >>> vocabulary = train_wordpiece_vocabulary(["a lovely day", "a dull day"], 100)
    >>> vocabulary[:5]
    ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
    """
    import keras_hub
    import tensorflow as tf

    reserved_tokens = list(reserved_tokens)
    if not isinstance(vocabulary_size, int) or vocabulary_size <= len(reserved_tokens):
        raise ValueError(f"vocabulary_size must be an integer larger than the {len(reserved_tokens)} reserved "
                         f"tokens, got {vocabulary_size!r}")
    texts = [str(text) for text in texts]
    if not texts:
        raise ValueError("cannot train a vocabulary on 0 texts")
    data = tf.data.Dataset.from_tensor_slices(tf.constant(texts, dtype=tf.string)).batch(1024)
    vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
        data, vocabulary_size, lowercase=lowercase, strip_accents=strip_accents,
        reserved_tokens=reserved_tokens)
    return list(vocabulary)


def save_vocabulary(vocabulary, path):
    """Writes one token per line (the vocab.txt layout)."""
    pathlib.Path(path).write_text("".join(f"{token}\n" for token in vocabulary), encoding="utf-8")


def load_vocabulary(path):
    """Reads a vocab.txt file: one token per line, id = line number - 1."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"vocabulary file {str(path)!r} does not exist (expected a vocab.txt: one token a line)")
    tokens = path.read_text(encoding="utf-8").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    return tokens
