"""Export a classifier as a SavedModel that TF Serving runs as it is: text in, probabilities out."""

import keras
import tensorflow as tf

from encoders_tf.export.versions import write_next_version
from encoders_tf.tasks import class_probabilities

TEXT_SPEC = tf.TensorSpec([None], tf.string, name="text")


def is_classifier(model):
    """True for a model from `build_classifier`; False for a text encoder (e.g. a converted checkpoint)."""
    return any(layer.name == "head" for layer in model.layers)


def write_saved_model(model, directory):
    """Writes `model` as a SavedModel for TF Serving.

    A classifier (from `build_classifier`) gets two signatures:
    `serving_default`: text tf.string [None] -> probabilities float32 [None, C], label int64 [None];
    `encode`: text tf.string [None] -> embedding float32 [None, H] (the encoder's pooled output).
    A text encoder (from `build_text_encoder`, e.g. a converted sentence-embedding checkpoint) gets
    `encode`, which is also its `serving_default`.

    Uses keras.export.ExportArchive, whose SavedModels restore on TF Serving's C++ path (a plain
    tf.saved_model.save of a Keras 3 model may not: keras-team/keras#19274).

    Args:
        model: a Keras model with layers named "tokenizer" and "encoder".
        directory: where to write; must not exist yet.
    """
    tokenizer, encoder = model.get_layer("tokenizer"), model.get_layer("encoder")

    def serve(text):
        probabilities = tf.cast(class_probabilities(model(text, training=False)), tf.float32)
        return {"probabilities": probabilities, "label": tf.argmax(probabilities, axis=-1, output_type=tf.int64)}

    def encode(text):
        pooled = encoder(tokenizer(text), training=False)["pooled_output"]
        return {"embedding": tf.cast(pooled, tf.float32)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    if is_classifier(model):
        archive.add_endpoint("serving_default", serve, input_signature=[TEXT_SPEC])
    archive.add_endpoint("encode", encode, input_signature=[TEXT_SPEC])
    archive.write_out(str(directory), verbose=False)


def export_for_serving(model, name, base="saved_models"):
    """Writes the next version of model `name` under `base`, atomically, and returns its path.

    Example:
    >>> export_for_serving(model, "tweets-lstm")  # saved_models/tweets-lstm/1
    """
    return write_next_version(base, name, lambda directory: write_saved_model(model, directory))
