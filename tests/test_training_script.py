"""training/fit_classifier.py, the plain Keras script users copy, runs on tiny data."""

import pathlib
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf

import encoders_tf  # noqa: F401  registers the layers for loading
from tests.conftest import write_sentiment_csv

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "training" / "fit_classifier.py"


def test_fit_classifier_script_trains_and_saves(tmp_path):
    data = write_sentiment_csv(tmp_path / "tiny.csv", rows=160, classes=3)
    out = tmp_path / "model.keras"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dataset", str(data), "--model", "transformer", "--epochs", "4",
         "--batch-size", "16", "--max-length", "16", "--vocabulary-size", "100", "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    accuracy = float(result.stdout.split("accuracy ")[-1].split()[0])
    assert accuracy > 0.8  # three classes: chance is 0.33
    model = keras.models.load_model(out)
    probabilities = model.predict(tf.constant(["a superb and lovely film", "dull boring plot"]), verbose=0)
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
