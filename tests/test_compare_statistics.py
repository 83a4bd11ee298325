"""Bootstrap intervals, paired tests and accuracy by length for `encoders-tf compare`, against hand-computed values."""

import functools
import math

import numpy as np
import pytest

from encoders_tf.compare.statistics import (accuracy_by_length, bootstrap_metric, length_quartiles, macro_f1,
                                            paired_bootstrap)


def _correctness(examples, accuracy, seed=0):
    """1/0 per example with exactly `accuracy` of them 1, shuffled."""
    correct = np.zeros(examples, dtype=int)
    correct[:round(examples * accuracy)] = 1
    return np.random.default_rng(seed).permutation(correct)


def _accuracy(labels, predictions):
    return np.mean(labels == predictions, axis=-1)


def _accuracy_interval(correct, **options):
    """bootstrap_metric's (value, low, high) of the accuracy of predictions right where `correct` is 1."""
    correct = np.asarray(correct)
    return bootstrap_metric(np.ones_like(correct), correct, _accuracy, **options)


def test_bootstrap_interval_contains_the_accuracy_and_narrows_with_more_examples():
    small = _accuracy_interval(_correctness(100, 0.8))
    large = _accuracy_interval(_correctness(10_000, 0.8))
    for value, low, high in (small, large):
        assert value == pytest.approx(0.8)
        assert low < value < high
    assert (large[2] - large[1]) < (small[2] - small[1]) / 5  # about 10 times narrower: 1/sqrt(100)


def test_bootstrap_interval_matches_the_normal_approximation_for_accuracy():
    _, low, high = _accuracy_interval(_correctness(10_000, 0.8))
    half_width = 1.96 * math.sqrt(0.8 * 0.2 / 10_000)
    assert low == pytest.approx(0.8 - half_width, abs=0.002)
    assert high == pytest.approx(0.8 + half_width, abs=0.002)


def test_bootstrap_is_seeded():
    values = _correctness(500, 0.7)
    assert _accuracy_interval(values, seed=3) == _accuracy_interval(values, seed=3)
    assert _accuracy_interval(values, seed=3) != _accuracy_interval(values, seed=4)


def test_wider_confidence_gives_a_wider_interval():
    values = _correctness(1000, 0.6)
    _, low_90, high_90 = _accuracy_interval(values, confidence=0.90)
    _, low_99, high_99 = _accuracy_interval(values, confidence=0.99)
    assert low_99 < low_90 and high_90 < high_99


def test_macro_f1_by_hand():
    labels = [0, 0, 0, 1, 1, 2]
    predictions = [0, 0, 1, 1, 2, 2]
    # class 0: tp 2, 3 labelled, 2 predicted -> 4/5; class 1: tp 1, 2 and 2 -> 1/2; class 2: tp 1, 1 and 2 -> 2/3
    assert macro_f1(labels, predictions, num_classes=3) == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)
    assert macro_f1(labels, predictions, num_classes=4) == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 4)


def test_bootstrap_metric_of_macro_f1_contains_the_value_and_narrows_with_more_examples():
    generator = np.random.default_rng(0)
    intervals = []
    for examples in (200, 5000):
        labels = generator.integers(0, 3, examples)
        predictions = np.where(generator.random(examples) < 0.75, labels, (labels + 1) % 3)
        value, low, high = bootstrap_metric(labels, predictions, functools.partial(macro_f1, num_classes=3))
        assert value == pytest.approx(float(macro_f1(labels, predictions, num_classes=3)))
        assert low < value < high
        intervals.append(high - low)
    assert intervals[1] < intervals[0] / 3


def test_paired_bootstrap_of_identical_models_is_zero_with_p_one():
    correct = _correctness(300, 0.75)
    assert paired_bootstrap(correct, correct) == {"difference": 0.0, "low": 0.0, "high": 0.0, "p_value": 1.0}


def test_paired_bootstrap_finds_a_clear_difference_and_is_antisymmetric():
    correct_a = _correctness(2000, 0.80, seed=1)
    correct_b = correct_a.copy()
    correct_b[np.flatnonzero(correct_a == 0)[:200]] = 1  # b also gets 200 of a's errors right: +0.10
    forward = paired_bootstrap(correct_a, correct_b)
    backward = paired_bootstrap(correct_b, correct_a)
    assert forward["difference"] == pytest.approx(0.10)
    assert 0 < forward["low"] < 0.10 < forward["high"]
    assert forward["p_value"] < 0.01
    assert backward["difference"] == pytest.approx(-0.10)
    assert backward["p_value"] == forward["p_value"]


def test_paired_bootstrap_of_a_small_noisy_difference_is_not_significant():
    correct_a = [1, 0] * 50
    correct_b = [0, 1] * 50
    correct_b[0] = 1  # one more right: +0.01 on 100 examples with 99 discordant
    result = paired_bootstrap(correct_a, correct_b)
    assert result["difference"] == pytest.approx(0.01)
    assert result["low"] < 0 < result["high"]
    assert result["p_value"] > 0.5


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="examples"):
        paired_bootstrap([1, 0], [1, 0, 1])
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_metric([], [], _accuracy)


def test_length_quartiles_and_accuracy_by_length_on_a_constructed_case():
    token_counts = [5, 1, 8, 3, 7, 2, 6, 4]
    correct = [0, 1, 0, 1, 1, 1, 0, 0]  # by length 1..8: 1 1 1 0 0 0 1 0
    assert length_quartiles(token_counts).tolist() == [1.0, 2.75, 4.5, 6.25, 8.0]
    assert accuracy_by_length(correct, token_counts) == [
        {"quartile": 1, "min_tokens": 1, "max_tokens": 2, "examples": 2, "accuracy": 1.0},
        {"quartile": 2, "min_tokens": 3, "max_tokens": 4, "examples": 2, "accuracy": 0.5},
        {"quartile": 3, "min_tokens": 5, "max_tokens": 6, "examples": 2, "accuracy": 0.0},
        {"quartile": 4, "min_tokens": 7, "max_tokens": 8, "examples": 2, "accuracy": 0.5}]


def test_accuracy_by_length_with_ties_skips_empty_quartiles():
    rows = accuracy_by_length([1, 1, 0, 0, 1, 0], [5, 5, 5, 5, 5, 9])
    assert [(row["quartile"], row["examples"], row["accuracy"]) for row in rows] == [(1, 5, 0.6), (4, 1, 0.0)]
