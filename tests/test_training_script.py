"""training/fit_classifier.py, the plain Keras script users copy, runs on tiny data."""

import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import encoders_tf  # noqa: F401  registers the layers for loading
from tests.conftest import write_sentiment_csv

pytestmark = pytest.mark.slow  # each test trains in a subprocess

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "training" / "fit_classifier.py"


@pytest.mark.parametrize("flags, replicas", [([], 1), (["--strategy", "mirrored", "--devices", "/cpu:0,/cpu:1"], 2)],
                         ids=["one-device", "mirrored"])
def test_fit_classifier_script_trains_and_saves(flags, replicas, tmp_path):
    data = write_sentiment_csv(tmp_path / "tiny.csv", rows=160, classes=3)
    out = tmp_path / "model.keras"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dataset", str(data), "--model", "transformer", "--epochs", "4",
         "--batch-size", "16", "--max-length", "16", "--vocabulary-size", "100", "--out", str(out), *flags],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{replicas} replica(s), global batch 16, {16 // replicas} per replica" in result.stdout
    accuracy = float(result.stdout.split("accuracy ")[-1].split()[0])
    assert accuracy > 0.8  # three classes: chance is 0.33
    model = keras.models.load_model(out)
    probabilities = model.probabilities(["a superb and lovely film", "dull boring plot"]).numpy()
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)


def test_fit_classifier_script_on_two_workers(tmp_path):
    from encoders_tf.distribute import local_cluster

    data = write_sentiment_csv(tmp_path / "tiny.csv", rows=160, classes=3)
    command = [sys.executable, str(SCRIPT), "--dataset", str(data), "--model", "transformer", "--epochs", "2",
               "--batch-size", "16", "--max-length", "16", "--vocabulary-size", "100", "--strategy", "multi_worker"]
    workers = [subprocess.Popen(command + ["--out", str(tmp_path / f"model{index}.keras")],
                                env={**os.environ, "TF_CONFIG": tf_config}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for index, tf_config in enumerate(local_cluster(2))]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs[0][1][-2000:] + outputs[1][1][-2000:]
    assert "test loss" in outputs[0][0] and "test loss" not in outputs[1][0]  # worker 0 reports and saves
    assert (tmp_path / "model0.keras").is_file() and not (tmp_path / "model1.keras").exists()
