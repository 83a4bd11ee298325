"""Batches of texts of similar length (training) and predictions in length order (inference)."""

import json
import random

import numpy as np
import pytest
import tensorflow as tf

from encoders_tf.cli import main
from encoders_tf.config import EncoderConfig
from encoders_tf.data import Split, to_tf_dataset
from encoders_tf.data.by_length import GROUP_BATCHES, group_by_length, in_length_order
from encoders_tf.data.tagging import TaggedSplit, tagged_tf_dataset
from encoders_tf.encoders import build_encoder
from encoders_tf.tasks import TextClassifier
from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
from encoders_tf.training.classifier import make_predictor
from encoders_tf.training.teacher_logits import predict_logits
from tests.conftest import write_sentiment_csv


def numbered_split(rows=1000, seed=0):
    """Texts of 1 to 60 words, each ending in its row number, which is also its label."""
    rng = random.Random(seed)
    lengths = [min(60, int(rng.expovariate(1 / 12)) + 1) for _ in range(rows)]
    return Split([" ".join(["word"] * (n - 1) + [str(i)]) for i, n in enumerate(lengths)], list(range(rows)))


def labels_and_widths(dataset):
    """Each batch's labels and its padded width in words (the longest text's); checks that each text is its
    label's."""
    labels, widths = [], []
    for texts, batch_labels in dataset:
        words = [text.decode().split() for text in texts.numpy()]
        labels.append(batch_labels.numpy().tolist())
        assert [int(text[-1]) for text in words] == labels[-1]
        widths.append(max(len(text) for text in words))
    return labels, widths


def test_grouped_batches_hold_every_example_once_and_pad_a_third_as_much():
    split = numbered_split()
    plain_labels, plain_widths = labels_and_widths(to_tf_dataset(split, 16, shuffle=True, seed=3))
    labels, widths = labels_and_widths(to_tf_dataset(split, 16, shuffle=True, seed=3, group_by_length=True))
    assert sorted(sum(labels, [])) == list(range(1000))
    assert len(labels) == len(plain_labels) == 63
    assert sorted(len(batch) for batch in labels)[1:] == [16] * 62  # all full but one
    padded, plain_padded = 16 * sum(widths), 16 * sum(plain_widths)
    words = sum(len(text.split()) for text in split.texts)
    assert padded < 1.15 * words and plain_padded > 3 * words  # little padding, against most of the batch


def test_grouped_batches_are_random_draws_reshuffled_by_the_seed():
    split = numbered_split()
    first, _ = labels_and_widths(to_tf_dataset(split, 16, shuffle=True, seed=3, group_by_length=True))
    again, _ = labels_and_widths(to_tf_dataset(split, 16, shuffle=True, seed=3, group_by_length=True))
    other, _ = labels_and_widths(to_tf_dataset(split, 16, shuffle=True, seed=4, group_by_length=True))
    assert first == again and first != other
    # Not sorted over the whole data: the first group's batches hold texts of every length.
    lengths = [len(split.texts[label].split()) for batch in first[:GROUP_BATCHES // 2] for label in batch]
    assert min(lengths) <= 2 and max(lengths) >= 30


def test_pairs_sort_by_both_texts_and_dict_targets_follow_their_example():
    texts = ["a " * n for n in (5, 1, 3, 0)]
    pairs = ["b " * n for n in (0, 1, 0, 9)]
    targets = {"label": np.arange(4), "teacher_logits": np.arange(8, dtype=np.float32).reshape(4, 2)}
    [(inputs, batch_targets)] = list(to_tf_dataset(Split(texts, [0, 1, 0, 1], pairs=pairs), 4, targets=targets,
                                                   group_by_length=True))
    assert batch_targets["label"].numpy().tolist() == [1, 2, 0, 3]  # lengths 4, 6, 10, 18 characters
    assert inputs["text_pair"].numpy().tolist() == [pairs[i].encode() for i in (1, 2, 0, 3)]
    np.testing.assert_array_equal(batch_targets["teacher_logits"], targets["teacher_logits"][[1, 2, 0, 3]])


def test_grouped_sentences_keep_their_tags():
    sentences = [[f"w{i}"] * (1 + i % 17) for i in range(200)]
    split = TaggedSplit(sentences, [[i] * len(words) for i, words in enumerate(sentences)])
    batches = list(tagged_tf_dataset(split, 8, shuffle=True, seed=0, group_by_length=True))
    assert len(batches) == 25
    seen = []
    for texts, tags in batches:
        for text, row in zip(texts.numpy(), tags.numpy()):
            words = text.decode().split()
            index = int(words[0][1:])
            assert row.tolist() == [index] * len(words) + [-1] * (tags.shape[1] - len(words))
            seen.append(index)
    assert sorted(seen) == list(range(200))


def test_in_length_order_calls_in_order_of_length_and_restores_the_callers_order():
    calls = []

    def function(texts, pairs):
        calls.append((texts, pairs))
        return np.array([[len(t) + len(p), i] for i, (t, p) in enumerate(zip(texts, pairs))])

    out = in_length_order(function, ["ccc", "a", "bb"], ["", "zzzz", ""])
    assert calls == [(["bb", "ccc", "a"], ["", "", "zzzz"])]
    assert out[:, 0].tolist() == [3, 5, 2] and out[:, 1].tolist() == [1, 2, 0]
    assert in_length_order(lambda texts, pairs: np.zeros((0, 2)), []).shape == (0, 2)


@pytest.fixture(scope="module")
def classifier():
    texts = ["a fine film", "dull", "a superb, moving and very well acted film with a story", "bad"]
    vocabulary = train_wordpiece_vocabulary(texts, vocabulary_size=80)
    config = EncoderConfig.preset("transformer-tiny", vocabulary_size=len(vocabulary), max_length=32)
    return TextClassifier(WordPieceTokenizer(vocabulary, max_length=32), build_encoder(config), 3)


def test_predictions_in_length_order_are_each_texts_own(classifier):
    rng = random.Random(0)
    texts = [" ".join(rng.choices(["a", "fine", "film", "dull", "superb", "story"], k=rng.randint(1, 30)))
             for _ in range(50)]
    one_by_one = np.concatenate([classifier.probabilities(tf.constant([t])).numpy() for t in texts])
    np.testing.assert_allclose(make_predictor(classifier, batch_size=8)(texts), one_by_one, atol=1e-6)
    logits = np.concatenate([classifier.logits(classifier.features(tf.constant([t]))).numpy() for t in texts])
    np.testing.assert_allclose(predict_logits(classifier, texts, batch_size=8), logits, atol=1e-5)


@pytest.mark.slow  # trains
def test_train_group_by_length(tmp_path, capsys):
    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=200)
    run_dir = tmp_path / "run"
    assert main(["train", "--model", "lstm", "--dataset", str(data), "--epochs", "3", "--batch-size", "16",
                 "--max-length", "16", "--vocabulary-size", "100", "--group-by-length", "--out", str(run_dir)]) == 0
    run = json.loads((run_dir / "run.json").read_text())
    assert run["options"]["group_by_length"] is True
    assert run["test_metrics"]["accuracy"] > 0.9  # the class words make this easy
