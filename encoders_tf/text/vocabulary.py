"""WordPiece vocabularies: trained from a corpus, or read from and written to vocab.txt files."""

import collections
import io
import itertools
import pathlib

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def train_wordpiece_vocabulary(texts, vocabulary_size, *, lowercase=True, strip_accents=True,
                               reserved_tokens=SPECIAL_TOKENS):
    """Learns a WordPiece vocabulary of at most `vocabulary_size` tokens from `texts`, deterministically.

    Text goes through the tokenizer's own normalization ops (invalid UTF-8 replaced, control characters
    cleaned, lower-casing and accent stripping as asked) and is split by BERT's rules (whitespace and
    punctuation, punctuation and CJK characters alone), so training sees the words the tokenizer will see.
    SentencePiece's BPE trainer (C++, one thread, so the same texts always give the same vocabulary) then
    learns the pieces: word-initial pieces become tokens, the others "##" continuations. Every character
    seen is in the vocabulary in both forms (the most frequent ones, if the size cannot hold them all), so
    text of the training split tokenizes without [UNK]. The reserved tokens come first: "[PAD]" is id 0 by
    default.

    Args:
        texts: an iterable of strings (or UTF-8 bytes): the training split.
        vocabulary_size: the largest vocabulary wanted, reserved tokens included.
        lowercase: lower-case before learning, as the tokenizer will.
        strip_accents: strip accents before learning, as the tokenizer will.
        reserved_tokens: distinct tokens placed first, in this order.

    Example:
    >>> vocabulary = train_wordpiece_vocabulary(["a lovely day", "a dull day"], 100)
    >>> vocabulary[:5]
    ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
    """
    import sentencepiece

    if isinstance(texts, (str, bytes)):
        raise ValueError(f"texts must be an iterable of strings, got one string ({texts[:40]!r}...)")
    reserved_tokens = list(reserved_tokens)
    if (not all(isinstance(token, str) and token for token in reserved_tokens)
            or len(set(reserved_tokens)) != len(reserved_tokens)):
        raise ValueError(f"reserved_tokens must be distinct non-empty strings, got {reserved_tokens!r}")
    if not isinstance(vocabulary_size, int) or vocabulary_size < len(reserved_tokens) + 2:
        raise ValueError(f"vocabulary_size must be an integer of at least {len(reserved_tokens) + 2} (the "
                         f"{len(reserved_tokens)} reserved tokens and one character in both forms), "
                         f"got {vocabulary_size!r}")
    lines = [line for line in _words(texts, lowercase, strip_accents) if line]
    if not lines:
        raise ValueError("cannot train a vocabulary on texts without words: every text was empty or whitespace")
    counts = collections.Counter()
    for line in lines:
        counts.update(line)
    counts.pop(" ", None)
    for token in reserved_tokens:
        counts.pop(token, None)
    # Each character takes two entries (c and ##c); the most frequent ones win when not all fit.
    room = (vocabulary_size - len(reserved_tokens)) // 2
    characters = sorted(sorted(counts, key=lambda c: (-counts[c], c))[:room])
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type="bpe",
        vocab_size=max(vocabulary_size - len(reserved_tokens), len(counts) + 2), hard_vocab_limit=False,
        character_coverage=1.0, split_by_whitespace=True, split_digits=False, num_threads=1,
        normalization_rule_name="identity", max_sentence_length=1 << 24, shuffle_input_sentence=False,
        unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, minloglevel=2)
    processor = sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())
    vocabulary = reserved_tokens + characters + [f"##{c}" for c in characters]
    seen = set(vocabulary)
    for index in range(processor.get_piece_size()):  # pieces in the order BPE merged them
        piece = processor.id_to_piece(index)
        if processor.is_unknown(index) or piece == "\u2581":
            continue
        token = piece[1:] if piece.startswith("\u2581") else f"##{piece}"
        if token not in seen:
            seen.add(token)
            vocabulary.append(token)
    return vocabulary[:vocabulary_size]


def _words(texts, lowercase, strip_accents, batch_size=1024):
    """Yields each text as its words joined by single spaces, normalized and split as the tokenizer does."""
    import tensorflow as tf
    from tokenizers import normalizers, pre_tokenizers

    from encoders_tf.text.normalization import BertNormalizer

    normalize = BertNormalizer(lowercase, strip_accents)
    cjk = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False,
                                     lowercase=False)  # spaces around CJK characters, nothing else
    split = pre_tokenizers.BertPreTokenizer()
    texts = iter(texts)
    while batch := [t if isinstance(t, bytes) else str(t).encode("utf-8", "surrogatepass")
                    for t in itertools.islice(texts, batch_size)]:
        batch = normalize(tf.strings.unicode_transcode(batch, "UTF-8", "UTF-8", errors="replace"))
        for text in batch.numpy():
            yield " ".join(word for word, _ in split.pre_tokenize_str(cjk.normalize_str(text.decode("utf-8"))))


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
