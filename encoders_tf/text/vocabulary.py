"""WordPiece vocabularies: trained from a corpus, or read from and written to vocab.txt files."""

import io
import pathlib

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def train_wordpiece_vocabulary(texts, vocabulary_size, *, lowercase=True, strip_accents=True,
                               reserved_tokens=SPECIAL_TOKENS):
    """Learns a WordPiece vocabulary of at most `vocabulary_size` tokens from `texts`, deterministically.

    Text is normalized and split as the tokenizer does (BERT's rules: lower-casing, accent stripping,
    whitespace and punctuation, CJK characters alone), then SentencePiece's BPE trainer (C++, one thread, so
    the same texts always give the same vocabulary) learns the pieces: word-initial pieces become tokens,
    the others "##" continuations. Every character seen is in the vocabulary in both forms, so text of the
    training split never tokenizes to [UNK]. The reserved tokens come first: "[PAD]" is id 0 by default.

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
    import sentencepiece
    from tokenizers import normalizers, pre_tokenizers

    reserved_tokens = list(reserved_tokens)
    if not isinstance(vocabulary_size, int) or vocabulary_size <= len(reserved_tokens):
        raise ValueError(f"vocabulary_size must be an integer larger than the {len(reserved_tokens)} reserved "
                         f"tokens, got {vocabulary_size!r}")
    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                            strip_accents=strip_accents, lowercase=lowercase)
    split = pre_tokenizers.BertPreTokenizer()
    lines = [" ".join(word for word, _ in split.pre_tokenize_str(normalizer.normalize_str(str(text))))
             for text in texts]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError("cannot train a vocabulary on 0 texts with words in them")
    characters = sorted({c for line in lines for c in line if c != " "})
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type="bpe",
        vocab_size=max(vocabulary_size - len(reserved_tokens), len(characters) + 2), hard_vocab_limit=False,
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
