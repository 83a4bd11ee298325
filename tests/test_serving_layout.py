"""TF Serving layout around an export: assets, label names, models.config, warmup, --keep, check-serving."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from encoders_tf.cli import main
from encoders_tf.export import (MODELS_CONFIG, WARMUP_FILE, ServingCheckError, check_servable, read_models_config,
                                run_like_tf_serving, versions)
from encoders_tf.export.warmup import write_warmup_requests
from tests.conftest import write_sentiment_csv

pytestmark = pytest.mark.slow  # trains, exports several versions, runs the TF Serving loading path in subprocesses


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    data = write_sentiment_csv(root / "reviews.csv", rows=90, classes=3)
    assert main(["train", "--model", "lstm", "--dataset", str(data), "--epochs", "1", "--batch-size", "16",
                 "--max-length", "16", "--vocabulary-size", "100", "--out", str(root / "run")]) == 0
    return root / "run"


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    base = tmp_path_factory.mktemp("saved_models")
    for name in ("reviews", "other"):
        assert main(["export", "--model", str(trained_run), "--name", name, "--base", str(base)]) == 0
    return base


def test_label_names_and_config_travel_in_the_export(exported, trained_run):
    version = exported / "reviews" / "1"
    assert (version / "assets" / "class_names.txt").read_text().split() == ["0", "1", "2"]
    config = json.loads((version / "assets" / "model_config.json").read_text())
    assert config["encoder_config"]["architecture"] == "lstm" and config["class_names"] == ["0", "1", "2"]
    outputs, _ = run_like_tf_serving(version, ["lovely superb film", "dull awful"])
    names = [name.decode() if isinstance(name, bytes) else name for name in outputs["label_name"].tolist()]
    assert names == [str(label) for label in outputs["label"]]


def test_models_config_lists_every_model_and_parses_with_the_serving_protos(exported):
    config = read_models_config(exported / MODELS_CONFIG)
    entries = {entry.name: entry for entry in config.model_config_list.config}
    assert sorted(entries) == ["other", "reviews"]
    assert entries["reviews"].base_path == str((exported / "reviews").resolve())
    assert all(entry.model_platform == "tensorflow" for entry in entries.values())
    assert not list(exported.glob(".*tmp"))  # written beside, renamed into place


def test_warmup_records_are_prediction_logs(exported):
    records = list(tf.data.TFRecordDataset(str(exported / "reviews" / "1" / WARMUP_FILE)))
    assert len(records) == 2
    log = prediction_log_pb2.PredictionLog.FromString(records[1].numpy())
    request = log.predict_log.request
    assert request.model_spec.name == "reviews" and request.model_spec.signature_name == "serving_default"
    assert tf.make_ndarray(request.inputs["text"]).shape == (3,)


def test_check_servable_replays_the_warmup_and_lists_the_ops(exported):
    report = check_servable(exported / "reviews" / "1")
    assert report["warmup_requests"] == 2 and report["unknown_ops"] == []
    assert "FastWordpieceTokenizeWithOffsets" in report["text_ops"]
    assert not {"PyFunc", "EagerPyFunc"} & set(report["ops"])


def test_keep_prunes_old_versions(trained_run, tmp_path):
    for _ in range(3):
        assert main(["export", "--model", str(trained_run), "--name", "pruned", "--base", str(tmp_path),
                     "--keep", "2"]) == 0
    assert versions(tmp_path / "pruned") == [2, 3]


def test_check_serving_command(exported, tmp_path, capsys):
    assert main(["check-serving", str(exported / "reviews")]) == 0  # a model directory: its latest version
    assert json.loads(capsys.readouterr().out)["servable"] is True
    broken = tmp_path / "broken" / "1"
    shutil.copytree(exported / "reviews" / "1", broken)
    for file in (broken / "variables").iterdir():
        file.write_bytes(b"garbage")
    assert main(["check-serving", str(broken)]) == 1
    assert "not servable" in capsys.readouterr().err
    assert main(["check-serving", str(tmp_path / "missing")]) == 2


def test_a_python_op_is_reported_by_name(tmp_path):
    class Shout(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text):
            upper = tf.py_function(lambda t: np.char.upper(t.numpy().astype(str)), [text], tf.string)
            return {"label_name": upper}

    module = Shout()
    tf.saved_model.save(module, str(tmp_path / "1"), signatures={"serving_default": module.serve})
    write_warmup_requests(tmp_path / "1", "shout")
    with pytest.raises(ServingCheckError, match="EagerPyFunc"):
        check_servable(tmp_path / "1")


def test_tfserving_engine_that_is_not_installed_is_a_clear_error(exported, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no tensorflow_model_server anywhere
    assert main(["serve", "--base", str(exported), "--engine", "tfserving"]) == 2
    assert "tensorflow_model_server is not installed" in capsys.readouterr().err
