"""Pair classification end to end: train on a file of text pairs, evaluate, export `text` + `text_pair`."""

import csv
import json
import random

import keras
import numpy as np
import pytest

from encoders_tf.cli import main
from encoders_tf.export import run_like_tf_serving
from tests.test_export import _signatures


def _write_pairs(path, rows=240, seed=0):
    """Label 1 when both texts name the same animal: learnable only by reading both texts."""
    rng = random.Random(seed)
    animals, filler = ["cat", "dog", "horse", "goat"], ["the", "a", "saw", "near", "big", "small", "old"]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["first", "second", "label"])
        for index in range(rows):
            a = rng.choice(animals)
            b = a if index % 2 else rng.choice([x for x in animals if x != a])
            writer.writerow([" ".join(rng.sample(filler, 3) + [a]), " ".join([b] + rng.sample(filler, 3)), index % 2])
    return path


@pytest.mark.slow  # trains 8 epochs
def test_train_evaluate_export_a_pair_classifier(tmp_path, capsys):
    data = _write_pairs(tmp_path / "pairs.csv")
    run = tmp_path / "run"
    assert main(["train", "--model", "transformer-tiny", "--dataset", str(data), "--text-column", "first",
                 "--text-pair-column", "second", "--epochs", "8", "--batch-size", "16", "--max-length", "16",
                 "--vocabulary-size", "60", "--learning-rate", "3e-3", "--out", str(run)]) == 0
    capsys.readouterr()
    saved = json.loads((run / "run.json").read_text())
    assert saved["encoder_config"]["type_vocabulary_size"] == 2  # segment embeddings for the two texts
    assert saved["test_metrics"]["accuracy"] >= 0.85 and "f1" in saved["test_metrics"]

    model = keras.models.load_model(run / "model.keras")
    assert model.text_pair
    first, second = ["saw the old cat", "a big near dog"], ["cat near big small", "horse the old saw"]
    same = model.probabilities(first, second).numpy()
    assert same.shape == (2, 2)
    swapped = model.probabilities(second, first).numpy()
    assert not np.allclose(same, swapped)  # the order of the texts reaches the model (segment ids)

    assert main(["evaluate", "--model", str(run), "--dataset", str(data), "--text-column", "first",
                 "--text-pair-column", "second"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["examples"] == 240 and evaluated["accuracy"] >= 0.85

    base = tmp_path / "saved_models"
    assert main(["export", "--model", str(run), "--name", "pairs", "--base", str(base)]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["max_abs_difference_vs_keras"] <= 1e-5  # hostile probes, paired, on TF Serving's path
    signature = _signatures(base / "pairs" / "1")["serving_default"]
    assert sorted(signature.inputs) == ["text", "text_pair"]
    outputs, _ = run_like_tf_serving(base / "pairs" / "1", first[:1], text_pairs=second[:1])
    np.testing.assert_allclose(outputs["probabilities"], same[:1], atol=1e-5)
    assert outputs["label_name"].tolist() == [str(same[0].argmax())]


@pytest.mark.slow  # trains first
def test_a_pair_model_refuses_single_texts(tmp_path, capsys):
    data = _write_pairs(tmp_path / "pairs.csv", rows=64)
    run = tmp_path / "run"
    assert main(["train", "--model", "lstm", "--dataset", str(data), "--text-column", "first",
                 "--text-pair-column", "second", "--epochs", "1", "--batch-size", "16", "--max-length", "16",
                 "--vocabulary-size", "60", "--augment-pair-swap", "--out", str(run)]) == 0
    capsys.readouterr()
    trained = json.loads((run / "run.json").read_text())
    assert trained["augmented"] == trained["split_sizes"]["train"]  # each training pair once more, swapped
    assert main(["evaluate", "--model", str(run), "--dataset", str(data), "--text-column", "first"]) == 2
    err = capsys.readouterr().err
    assert "pairs of texts" in err and "--text-pair-column" in err and "\n" == err[-1] and err.count("\n") == 1
