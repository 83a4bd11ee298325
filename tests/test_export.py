"""SavedModel export: TF Serving's layout, signatures, and the same probabilities on TF Serving's path."""

import ast

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from encoders_tf.config import EncoderConfig
from encoders_tf.encoders import build_encoder
from encoders_tf.export import (PROBE_TEXTS, check_export, export_for_serving, run_like_tf_serving,
                                serving_check, versions)
from encoders_tf.tasks import TextClassifier
from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary

CORPUS = ["the film was great", "a dull and boring plot", "lovely acting, superb story", "it was okay"] * 5


def _classifier(architecture, num_classes):
    vocabulary = train_wordpiece_vocabulary(CORPUS, 200)
    preset = "lstm" if architecture == "lstm" else "transformer-tiny"
    config = EncoderConfig.preset(preset, vocabulary_size=len(vocabulary), max_length=16)
    if architecture == "lstm":
        config = config.replace(hidden_size=16, lstm_units=8)
    return TextClassifier(WordPieceTokenizer(vocabulary, max_length=16), build_encoder(config), num_classes)


@pytest.fixture(scope="module", params=[("lstm", 2), ("transformer", 3)], ids=["lstm-2", "transformer-3"])
def exported(request, tmp_path_factory):
    architecture, num_classes = request.param
    keras.utils.set_random_seed(0)
    model = _classifier(architecture, num_classes)
    base = tmp_path_factory.mktemp("saved_models")
    return model, export_for_serving(model, "demo", base), num_classes


def _signatures(path):
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((path / "saved_model.pb").read_bytes())
    (meta_graph,) = [m for m in saved_model.meta_graphs if "serve" in m.meta_info_def.tags]
    return meta_graph.signature_def


def test_layout_is_a_tf_serving_base_path(exported, tmp_path):
    model, path, _ = exported
    assert path.name == "1" and path.parent.name == "demo"
    assert (path / "saved_model.pb").is_file() and (path / "variables" / "variables.index").is_file()
    second = export_for_serving(model, "demo", path.parent.parent)
    assert second.name == "2" and versions(path.parent) == [1, 2]
    assert sorted(p.name for p in path.parent.iterdir()) == ["1", "2"]  # no staging directory left behind


def test_signatures_take_text_and_give_probabilities_and_label(exported):
    _, path, _ = exported
    signatures = _signatures(path)
    serving = signatures["serving_default"]
    assert list(serving.inputs) == ["text"]
    assert serving.inputs["text"].dtype == tf.string.as_datatype_enum
    assert [d.size for d in serving.inputs["text"].tensor_shape.dim] == [-1]
    assert serving.outputs["probabilities"].dtype == tf.float32.as_datatype_enum
    assert serving.outputs["label"].dtype == tf.int64.as_datatype_enum
    assert list(signatures["encode"].outputs) == ["embedding"]


@pytest.mark.slow  # the TF Serving loading path in a subprocess
def test_tf_serving_path_gives_the_keras_probabilities_on_hostile_text(exported):
    model, path, num_classes = exported
    outputs, report = run_like_tf_serving(path, PROBE_TEXTS)
    probabilities = outputs["probabilities"]
    assert probabilities.shape == (len(PROBE_TEXTS), num_classes)
    assert np.all(np.isfinite(probabilities)) and np.all((probabilities >= 0) & (probabilities <= 1))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    expected = model.probabilities(tf.constant(PROBE_TEXTS)).numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(outputs["label"], expected.argmax(-1))
    assert "FastWordpieceTokenizeWithOffsets" in report["ops"]  # TF Text's op, which TF Serving links
    assert not {"PyFunc", "EagerPyFunc", "PyFuncStateless"} & set(report["ops"])
    assert check_export(model, path) <= 1e-5


def test_tf_serving_path_needs_only_tensorflow_and_tensorflow_text(exported):
    _, path, _ = exported
    outputs, report = run_like_tf_serving(path, ["fine", ""], signature="encode")
    assert outputs["embedding"].shape[0] == 2 and np.all(np.isfinite(outputs["embedding"]))
    assert "tensorflow_text" in report["modules"]
    assert not {"keras_hub", "encoders_tf"} & set(report["modules"])  # (tensorflow itself loads keras)
    tree = ast.parse(serving_check.SESSION_SCRIPT.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"base64", "json", "os", "sys", "tensorflow", "tensorflow_text"}


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "", "a\\b"])
def test_export_names_with_path_separators_are_refused(exported, name, tmp_path):
    model, _, _ = exported
    with pytest.raises(ValueError, match="invalid model name"):
        export_for_serving(model, name, tmp_path)
