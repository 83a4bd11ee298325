"""Every tokenizer takes what users pass: str, lists, tuples, NumPy arrays, tf tensors ([], [B], [B, 1]) and
symbolic Keras inputs, with the same ids; anything else is refused, naming what was given and what is accepted."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.tiny_tokenizers import FAMILIES, ID, tokenizer

TEXTS = ["the film was great", "Naïve café!", "", "a dull plot, a lovely cast"]

BATCH_KINDS = {
    "list": list,
    "tuple": tuple,
    "numpy str": np.array,  # dtype <U
    "numpy bytes": lambda texts: np.array([text.encode("utf-8") for text in texts]),  # dtype S
    "numpy object": lambda texts: np.array(texts, dtype=object),
    "tf [B]": tf.constant,
    "tf [B, 1]": lambda texts: tf.constant([[text] for text in texts]),
    "list [B, 1]": lambda texts: [[text] for text in texts],
    "numpy [B, 1]": lambda texts: np.array([[text] for text in texts], dtype=object),
    "mixed str and bytes": lambda texts: [text if i % 2 else text.encode("utf-8") for i, text in enumerate(texts)],
}
ONE_KINDS = {
    "str": lambda text: text,
    "bytes": lambda text: text.encode("utf-8"),
    "numpy str_": np.str_,
    "numpy 0-d": np.array,
    "tf []": tf.constant,
}


# roberta's byte-level BPE tokenizer takes seconds on its first call, and each test makes a new one
@pytest.fixture(params=[pytest.param(f, marks=pytest.mark.slow) if f == "roberta" else f for f in FAMILIES])
def family_tokenizer(request):
    return tokenizer(request.param)


def _numpy(outputs):
    return {key: value.numpy() for key, value in outputs.items()}


@pytest.mark.parametrize("kind", BATCH_KINDS)
def test_every_batch_kind_gives_the_same_ids(family_tokenizer, kind):
    expected = _numpy(family_tokenizer(tf.constant(TEXTS)))
    got = _numpy(family_tokenizer(BATCH_KINDS[kind](TEXTS)))
    assert sorted(got) == ["padding_mask", "token_ids"]
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])
    assert got["token_ids"].shape[0] == len(TEXTS)


@pytest.mark.parametrize("kind", ONE_KINDS)
def test_one_string_gives_one_unbatched_row(family_tokenizer, kind):
    # As keras-hub's tokenizers: a scalar in, a row [T] out (not [1, T]).
    row = _numpy(family_tokenizer(tf.constant([TEXTS[1]])))
    got = _numpy(family_tokenizer(ONE_KINDS[kind](TEXTS[1])))
    assert got["token_ids"].shape == row["token_ids"].shape[1:] and got["token_ids"].ndim == 1
    np.testing.assert_array_equal(got["token_ids"], row["token_ids"][0])
    np.testing.assert_array_equal(got["padding_mask"], row["padding_mask"][0])


def test_exact_ids_for_a_python_list_and_one_string():
    bert = tokenizer("bert")
    ids = bert(["the film was great", "good"])["token_ids"].numpy().tolist()
    assert ids == [[ID[t] for t in ["[CLS]", "the", "film", "was", "great", "[SEP]"]],
                   [ID["[CLS]"], ID["good"], ID["[SEP]"], 0, 0, 0]]
    assert bert("good")["token_ids"].numpy().tolist() == [ID["[CLS]"], ID["good"], ID["[SEP]"]]
    assert bert([])["token_ids"].shape[0] == 0  # an empty batch is a batch of no rows


def test_strings_that_are_not_valid_unicode_are_replaced_not_raised():
    bert = tokenizer("bert")
    # A lone surrogate (possible in a Python str) and invalid UTF-8 bytes: replaced by U+FFFD, an unknown token.
    assert bert(["good \ud800", b"good \xff"])["token_ids"].numpy().tolist() == \
        [[ID["[CLS]"], ID["good"], ID["[UNK]"], ID["[SEP]"]]] * 2


def test_symbolic_inputs_and_tf_data_still_work():
    bert = tokenizer("bert", max_length=12)
    expected = bert(TEXTS)["token_ids"].numpy()
    text = keras.Input(shape=(), dtype="string")
    model = keras.Model(text, bert(text))
    np.testing.assert_array_equal(model(tf.constant(TEXTS))["token_ids"], expected)
    column = keras.Input(shape=(1,), dtype="string")  # [B, 1]
    np.testing.assert_array_equal(keras.Model(column, bert(column))(tf.constant([[t] for t in TEXTS]))["token_ids"],
                                  expected)
    batched = tf.data.Dataset.from_tensor_slices(TEXTS).batch(4).map(bert)
    np.testing.assert_array_equal(next(iter(batched))["token_ids"], expected)
    rows = [row["token_ids"].numpy().tolist() for row in tf.data.Dataset.from_tensor_slices(TEXTS).map(bert)]
    assert rows == [list(row[mask]) for row, mask in zip(expected, expected != 0)]  # unbatched elements: [T] each


def _message(*parts):
    return ".*".join(parts)


ACCEPTED = r"accepted: a str or bytes, a list or tuple of them \(or of one-item lists: \[B, 1\]\), a NumPy array"


@pytest.mark.parametrize("value, error, message", [
    (3, TypeError, _message(r"^text is not text: got int 3; ", ACCEPTED)),
    (None, TypeError, r"^text is not text: got None; "),
    (2.5, TypeError, r"^text is not text: got float 2\.5; "),
    ({"text": "a"}, TypeError, r"^text is not text: got dict \{'text': 'a'\}; "),
    (["good", 3], TypeError, r"^text is not text: item 1 is int 3; "),
    (["good", None], TypeError, r"^text is not text: item 1 is None; "),
    (["good", ["film"]], ValueError, r"^text mixes strings and lists \(item 0 is a string, item 1 is a list of 1 "
                                     r"item\); "),
    ([["good"], "film"], ValueError, r"^text mixes strings and lists \(item 1 is a string, item 0 is a list"),
    ([["good", "film"]], ValueError, r"^text holds lists, so each must be a \[text\] row of one string; item 0 is "
                                     r"a list of 2 items; "),
    ([[["good"]]], ValueError, r"^text holds lists, so each must be a \[text\] row of one string; item 0 is a list "
                               r"of 1 item; "),
    (np.array([1, 2]), TypeError, r"^text is not text: got a NumPy array of shape \(2,\) and dtype int64; "),
    (np.array([["a", "b"]]), ValueError, r"^text has a shape a tokenizer cannot take: got a NumPy array of shape "
                                         r"\(1, 2\)"),
    (np.array([[["a"]]]), ValueError, r"^text has a shape a tokenizer cannot take: got a NumPy array of shape "
                                      r"\(1, 1, 1\)"),
    (np.array(["a", 3], dtype=object), TypeError, r"^text is not text: item 1 is int 3; "),
    (tf.constant([1, 2]), TypeError, r"^text is not text: got a tensor of shape \(2,\) and dtype int32; "),
    (tf.constant([["a", "b"]]), ValueError, r"^text has a shape a tokenizer cannot take: got a tensor of shape "
                                            r"\(1, 2\) and dtype string; "),
    (tf.ragged.constant([["a"], ["b", "c"]]), TypeError, r"^text is a RaggedTensor; accepted: "),
])
def test_bad_input_names_what_was_given_and_what_is_accepted(family_tokenizer, value, error, message):
    with pytest.raises(error, match=message):
        family_tokenizer(value)


def test_bad_symbolic_input_is_refused_when_the_model_is_built():
    bert = tokenizer("bert")
    with pytest.raises(TypeError, match=r"^text is not text: got a symbolic Keras tensor of shape \(None,\) and "
                                        r"dtype int32"):
        bert(keras.Input(shape=(), dtype="int32"))
    with pytest.raises(ValueError, match=r"^text has a shape a tokenizer cannot take: got a symbolic Keras tensor "
                                         r"of shape \(None, 3\)"):
        bert(keras.Input(shape=(3,), dtype="string"))


def test_a_sentencepiece_tokenizer_survives_reseeding():
    """tf.random.set_seed clears TensorFlow's kernel cache, and with it the kernel holding the SentencePiece
    model: the tokenizer builds its model resource again instead of failing with "Resource ... does not exist"."""
    import keras

    t5 = tokenizer("t5")
    before = t5(["a small test"])["token_ids"].numpy()
    keras.utils.set_random_seed(3)
    np.testing.assert_array_equal(t5(["a small test"])["token_ids"].numpy(), before)
