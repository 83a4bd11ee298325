"""The in-graph WordPiece tokenizer and vocabulary training."""

import csv

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import tensorflow as tf

from encoders_tf.text import (SPECIAL_TOKENS, WordPieceTokenizer, load_vocabulary, save_vocabulary,
                              train_wordpiece_vocabulary)
from encoders_tf.text.packing import pack
from tests.conftest import SHARED_DATA

VOCAB = list(SPECIAL_TOKENS) + ["the", "film", "was", "great", "##ly", "good", "!", ",", "cafe", "run", "##ning",
                                "Café", "The"]
ID = {token: index for index, token in enumerate(VOCAB)}


def _ids(tokenizer, texts):
    outputs = tokenizer(tf.constant(texts))
    ids, mask = outputs["token_ids"].numpy(), outputs["padding_mask"].numpy()
    return [list(row[m]) for row, m in zip(ids, mask)], ids, mask


def test_exact_ids_with_pieces_punctuation_and_unknowns():
    tokenizer = WordPieceTokenizer(VOCAB, max_length=32)
    rows, _, _ = _ids(tokenizer, ["The film was GREATLY good!", "running, cafe", "zebra"])
    assert rows[0] == [ID[t] for t in ["[CLS]", "the", "film", "was", "great", "##ly", "good", "!", "[SEP]"]]
    assert rows[1] == [ID[t] for t in ["[CLS]", "run", "##ning", ",", "cafe", "[SEP]"]]
    assert rows[2] == [ID["[CLS]"], ID["[UNK]"], ID["[SEP]"]]


def test_lowercase_and_accent_options():
    text = ["Café The"]
    assert _ids(WordPieceTokenizer(VOCAB), text)[0][0][1:-1] == [ID["cafe"], ID["the"]]
    assert _ids(WordPieceTokenizer(VOCAB, lowercase=False, strip_accents=False), text)[0][0][1:-1] == \
        [ID["Café"], ID["The"]]
    assert _ids(WordPieceTokenizer(VOCAB, lowercase=False, strip_accents=True), text)[0][0][1:-1] == \
        [ID["[UNK]"], ID["The"]]  # "Cafe": accent gone, case kept, not in the vocabulary
    assert _ids(WordPieceTokenizer(VOCAB, lowercase=True, strip_accents=False), text)[0][0][1:-1] == \
        [ID["[UNK]"], ID["the"]]  # "café": case folded, accent kept


def test_truncation_and_padding():
    tokenizer = WordPieceTokenizer(VOCAB, max_length=5)
    rows, ids, mask = _ids(tokenizer, ["the film was great good", "film"])
    assert ids.shape == (2, 5)
    assert rows[0] == [ID["[CLS]"], ID["the"], ID["film"], ID["was"], ID["[SEP]"]]
    assert list(ids[1]) == [ID["[CLS]"], ID["film"], ID["[SEP]"], ID["[PAD]"], ID["[PAD]"]]
    np.testing.assert_array_equal(mask, ids != ID["[PAD]"])
    # Batches pad to their longest row, or to max_length when asked.
    assert _ids(tokenizer, ["film"])[1].shape == (1, 3)
    fixed = WordPieceTokenizer(VOCAB, max_length=5, pad_to_max_length=True)
    assert _ids(fixed, ["film"])[1].shape == (1, 5)
    assert fixed(tf.constant([["film"], ["good"]]))["token_ids"].shape == (2, 5)  # [B, 1] input


def test_hostile_input_gives_well_formed_rows():
    tokenizer = WordPieceTokenizer(VOCAB, max_length=16)
    texts = ["", "   \t\n", "😀🔥👍", "東京タワー", "x" * 100_000, "film " * 50_000, b"\xff\xfe\xfd", b"good \xc3\x28"]
    rows, ids, _ = _ids(tokenizer, texts)
    assert rows[0] == rows[1] == [ID["[CLS]"], ID["[SEP]"]]
    for row in rows:
        assert row[0] == ID["[CLS]"] and row[-1] == ID["[SEP]"] and len(row) <= 16
    assert len(rows[5]) == 16
    assert rows[7][1] == ID["good"]  # the valid part of a partly invalid string survives


def test_no_python_ops_in_the_graph():
    tokenizer = WordPieceTokenizer(VOCAB)
    graph = tf.function(tokenizer).get_concrete_function(tf.TensorSpec([None], tf.string)).graph
    ops = {op.type for op in graph.get_operations()}
    for function in graph.as_graph_def().library.function:
        ops |= {node.op for node in function.node_def}
    assert {"FastBertNormalize", "FastWordpieceTokenizeWithOffsets"} <= ops
    assert not ops & {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


def test_keras_file_round_trip(tmp_path):
    tokenizer = WordPieceTokenizer(VOCAB, max_length=12, name="tokenizer")
    text = keras.Input(shape=(), dtype="string")
    model = keras.Model(text, tokenizer(text))
    model.save(tmp_path / "tokenizer.keras")
    restored = keras.models.load_model(tmp_path / "tokenizer.keras")
    batch = tf.constant(["The film was greatly good!", "", "café running"])
    for key, value in model(batch).items():
        np.testing.assert_array_equal(restored(batch)[key], value)
    clone = WordPieceTokenizer.from_config(tokenizer.get_config())
    assert clone.get_config() == tokenizer.get_config() and clone.get_vocabulary() == VOCAB


def test_bad_arguments_are_explained(tmp_path):
    with pytest.raises(ValueError, match=r"cls_token '\[CLS\]' is not in the vocabulary of 2 tokens"):
        WordPieceTokenizer(["[PAD]", "[UNK]"])
    with pytest.raises(ValueError, match=r"max_length must be an integer of at least 2.*got 1"):
        WordPieceTokenizer(VOCAB, max_length=1)
    with pytest.raises(ValueError, match=r"vocabulary file .*missing.txt' does not exist"):
        WordPieceTokenizer(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match=r"vocabulary_size must be an integer of at least 7 .*got 5"):
        train_wordpiece_vocabulary(["a b"], 5)
    with pytest.raises(ValueError, match=r"duplicate tokens \[.film.\]"):
        WordPieceTokenizer(VOCAB + ["film"])
    with pytest.raises(ValueError, match=r"texts must be an iterable of strings, got one string"):
        train_wordpiece_vocabulary("a lovely day", 100)
    with pytest.raises(ValueError, match=r"every text was empty or whitespace"):
        train_wordpiece_vocabulary(["", "  \t"], 100)


def test_vocabulary_training_and_files(tmp_path):
    corpus = ["The films were wonderful, truly wonderful!", "A dull film; boring and slow.",
              "Naïve café owners love wonderful films"] * 20
    vocabulary = train_wordpiece_vocabulary(corpus, 200)
    assert vocabulary[:5] == list(SPECIAL_TOKENS)
    assert len(vocabulary) == len(set(vocabulary)) <= 200
    assert "wonderful" in vocabulary and "cafe" in vocabulary  # lower-cased and accent-stripped
    rows, _, _ = _ids(WordPieceTokenizer(vocabulary), corpus[:3])
    assert all(SPECIAL_TOKENS.index("[UNK]") not in row for row in rows)
    save_vocabulary(vocabulary, tmp_path / "vocab.txt")
    assert load_vocabulary(tmp_path / "vocab.txt") == vocabulary
    assert WordPieceTokenizer(tmp_path / "vocab.txt").get_vocabulary() == vocabulary


@pytest.mark.slow  # parity, real data
def test_agrees_with_keras_hub_wordpiece_on_sst2():
    path = SHARED_DATA / "sst2" / "dev.tsv"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    import keras_hub

    with open(path, newline="") as f:
        sentences = [row[0] for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)][1:]
    vocabulary = train_wordpiece_vocabulary(sentences, 2000)
    ours = WordPieceTokenizer(vocabulary, max_length=512)
    theirs = keras_hub.tokenizers.WordPieceTokenizer(vocabulary, lowercase=True, strip_accents=True)
    rows, _, _ = _ids(ours, sentences)
    reference = theirs(tf.constant(sentences))
    reference = reference if isinstance(reference, list) else reference.to_list()
    assert [row[1:-1] for row in rows] == reference  # all 872 sentences, same ids


_HOSTILE_TOKENIZER = WordPieceTokenizer(VOCAB, max_length=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(), st.binary()), min_size=1, max_size=4))
def test_any_string_or_bytes_gives_well_formed_rows(texts):
    outputs = _HOSTILE_TOKENIZER(tf.constant(texts, dtype=tf.string))
    ids, mask = outputs["token_ids"].numpy(), outputs["padding_mask"].numpy()
    assert ids.shape[0] == len(texts) and 2 <= ids.shape[1] <= 12
    for row, keep in zip(ids, mask):
        real = row[keep]
        assert real[0] == ID["[CLS]"] and real[-1] == ID["[SEP]"] and keep[: len(real)].all()
        assert ((0 <= real) & (real < len(VOCAB))).all() and (row[~keep] == ID["[PAD]"]).all()


def test_vocabulary_sees_the_text_the_tokenizer_sees():
    # Control and zero-width characters, invalid UTF-8 and accents: training normalizes as the tokenizer does,
    # so no text of the training split becomes [UNK].
    corpus = ["Caf\u00e9\u200b au\x07 lait", b"na\xefve bytes \xff\xfe", "CJK \u4e2d\u6587 text", "Stra\u00dfe"] * 5
    tokenizer = WordPieceTokenizer(train_wordpiece_vocabulary(corpus, 120), max_length=32)
    rows, _, _ = _ids(tokenizer, corpus[:4])
    assert all(ID["[UNK]"] not in row for row in rows)
    # Too small for every character in both forms: the most frequent characters are kept.
    small = train_wordpiece_vocabulary(["aaaa bbb cc d"], 9)
    assert small[:5] == list(SPECIAL_TOKENS) and sorted(small[5:]) == ["##a", "##b", "a", "b"]


def test_vocabulary_training_is_deterministic():
    corpus = [f"the film was {w} and the plot {v}" for w in ("good", "bad", "dull") for v in ("moved", "sat")] * 5
    assert train_wordpiece_vocabulary(corpus, 60) == train_wordpiece_vocabulary(list(corpus), 60)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(st.integers(5, 99), max_size=12), max_size=5), max_length=st.integers(2, 9),
       with_start=st.booleans(), pad_to_max_length=st.booleans())
def test_pack_matches_a_python_reference(rows, max_length, with_start, pad_to_max_length):
    start = [1] if with_start else []
    expected = [start + row[: max_length - len(start) - 1] + [2] for row in rows]
    width = max_length if pad_to_max_length else max([len(row) for row in expected], default=0)
    pieces = tf.RaggedTensor.from_row_lengths(tf.constant(sum(rows, []), tf.int32, shape=[sum(map(len, rows))]),
                                              tf.constant([len(row) for row in rows], tf.int64, shape=[len(rows)]))
    packed = pack(pieces, max_length, end_id=2, pad_id=0, start_id=1 if with_start else None,
                  pad_to_max_length=pad_to_max_length)
    assert packed["token_ids"].numpy().tolist() == [row + [0] * (width - len(row)) for row in expected]
    assert packed["padding_mask"].numpy().tolist() == [[True] * len(row) + [False] * (width - len(row))
                                                       for row in expected]
    assert packed["token_ids"].dtype == tf.int32 and packed["padding_mask"].shape == (len(rows), width)
