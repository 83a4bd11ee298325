"""Export a classifier as a SavedModel that TF Serving runs as it is: text in, probabilities out."""

import json

import keras
import tensorflow as tf

from encoders_tf.export.model_config import write_models_config
from encoders_tf.export.versions import prune_versions, write_next_version
from encoders_tf.export.warmup import write_warmup_requests
from encoders_tf.tasks import class_probabilities

CLASS_NAMES_ASSET = "class_names.txt"
CONFIG_ASSET = "model_config.json"

TEXT_SPEC = tf.TensorSpec([None], tf.string, name="text")


def is_classifier(model):
    """True for a model from `build_classifier`; False for a text encoder (e.g. a converted checkpoint)."""
    return any(layer.name == "head" for layer in model.layers)


def write_saved_model(model, directory, class_names=None):
    """Writes `model` as a SavedModel for TF Serving.

    A classifier (from `build_classifier`) gets two signatures:
    `serving_default`: text tf.string [None] -> probabilities float32 [None, C], label int64 [None], and
    label_name tf.string [None] when `class_names` are given;
    `encode`: text tf.string [None] -> embedding float32 [None, H] (the encoder's pooled output).
    A text encoder (from `build_text_encoder`, e.g. a converted sentence-embedding checkpoint) gets
    `encode`, which is also its `serving_default`.

    Uses keras.export.ExportArchive, whose SavedModels restore on TF Serving's C++ path (a plain
    tf.saved_model.save of a Keras 3 model may not: keras-team/keras#19274).

    Args:
        model: a Keras model with layers named "tokenizer" and "encoder".
        directory: where to write; must not exist yet.
        class_names: the classifier's class names, index = class id.
    """
    tokenizer, encoder = model.get_layer("tokenizer"), model.get_layer("encoder")
    names = None if not class_names else tf.constant(list(class_names), dtype=tf.string)

    def serve(text):
        probabilities = tf.cast(class_probabilities(model(text, training=False)), tf.float32)
        label = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
        outputs = {"probabilities": probabilities, "label": label}
        if names is not None:
            outputs["label_name"] = tf.gather(names, label)
        return outputs

    def encode(text):
        pooled = encoder(tokenizer(text), training=False)["pooled_output"]
        return {"embedding": tf.cast(pooled, tf.float32)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    if is_classifier(model):
        archive.add_endpoint("serving_default", serve, input_signature=[TEXT_SPEC])
    archive.add_endpoint("encode", encode, input_signature=[TEXT_SPEC])
    archive.write_out(str(directory), verbose=False)


def _write_version(model, directory, name, class_names, config):
    write_saved_model(model, directory, class_names)
    # Files beside the graph's own: TF Serving ignores them; people and tools read them.
    assets = directory / "assets"
    assets.mkdir(exist_ok=True)
    if class_names:
        (assets / CLASS_NAMES_ASSET).write_text("".join(f"{c}\n" for c in class_names), encoding="utf-8")
    (assets / CONFIG_ASSET).write_text(json.dumps(config or {}, indent=2) + "\n")
    signature = "serving_default" if is_classifier(model) else "encode"
    write_warmup_requests(directory, name, signature)


def export_for_serving(model, name, base="saved_models", class_names=None, config=None, keep=None):
    """Writes the next version of model `name` under `base`, atomically, and returns its path.

    The version carries its class names and config in assets/, warmup requests in
    assets.extra/tf_serving_warmup_requests, and `base`/models.config is rewritten to list every model.

    Args:
        model: a classifier from `build_classifier` or a text encoder from `build_text_encoder`.
        name: the model name (one path component).
        base: the model base path root.
        class_names: the classifier's class names (gives the `label_name` output).
        config: a JSON-able dict describing the model (encoder config, training options).
        keep: keep only the newest `keep` versions.

    Example:
    >>> export_for_serving(model, "tweets-lstm", class_names=["negative", "neutral", "positive"])
    PosixPath('saved_models/tweets-lstm/1')
    """
    path = write_next_version(base, name, lambda d: _write_version(model, d, name, class_names, config))
    if keep:
        prune_versions(path.parent, keep)
    write_models_config(base)
    return path
