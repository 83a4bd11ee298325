"""Text classifier: raw strings -> tokenizer -> encoder -> pooled output -> class probabilities."""

import keras
import tensorflow as tf
from keras import ops


def build_classifier(tokenizer, encoder, num_classes, dropout=0.1, name="classifier"):
    """A Keras model from text to class probabilities, with the tokenizer inside the graph.

    Two classes use one sigmoid unit (the classic baseline's Dense(1, sigmoid)) and the model outputs
    P(class 1) [B, 1]; more classes use a softmax and the model outputs [B, C]. `class_probabilities`
    turns either into [B, C].

    Args:
        tokenizer: a layer named "tokenizer", from tf.string [B] to the encoder's input dict.
        encoder: a layer named "encoder" honouring the encoder contract (TransformerEncoder, LSTMEncoder);
            the exporter finds both by these names.
        num_classes: number of classes, at least 2.
        dropout: dropout rate on the pooled output.
        name: the model's name.

    Example:
    >>> tokenizer = WordPieceTokenizer(vocabulary, max_length=64, name="tokenizer")
    >>> model = build_classifier(tokenizer, build_encoder(config, name="encoder"), num_classes=3)
    >>> model(tf.constant(["what a lovely day"])).shape
    TensorShape([1, 3])
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes!r}")
    for layer, expected in ((tokenizer, "tokenizer"), (encoder, "encoder")):
        if layer.name != expected:
            raise ValueError(f"the {expected} layer must be named {expected!r}, got {layer.name!r}")
    text = keras.Input(shape=(), dtype="string", name="text")
    pooled = encoder(tokenizer(text))["pooled_output"]
    pooled = keras.layers.Dropout(dropout, name="head_dropout")(pooled)
    # The head stays float32 under mixed precision: probabilities and the loss need the range.
    if num_classes == 2:
        head = keras.layers.Dense(1, activation="sigmoid", name="head", dtype="float32")
    else:
        head = keras.layers.Dense(num_classes, activation="softmax", name="head", dtype="float32")
    return keras.Model(text, head(pooled), name=name)


def token_ids_model(model):
    """The classifier without its tokenizer: encoder inputs dict -> class outputs, sharing every layer.

    `model` holds layers named "tokenizer", "encoder", "head" and optionally "head_dropout" between them.

    Training this model trains `model`. It is what `fit` runs on: strings stay in the tf.data pipeline
    (tokenized there, in parallel), so the training step is numeric only, which replicas under
    tf.distribute, XLA (`jit_compile`) and TPUs need.

    Example:
    >>> token_ids_model(model).fit(tokenize_dataset(batches_of_text_and_label, model.get_layer("tokenizer")))
    """
    encoder = model.get_layer("encoder")
    inputs = {"token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids"),
              "padding_mask": keras.Input(shape=(None,), dtype="int32", name="padding_mask")}
    pooled = encoder(inputs)["pooled_output"]
    if any(layer.name == "head_dropout" for layer in model.layers):
        pooled = model.get_layer("head_dropout")(pooled)
    outputs = model.get_layer("head")(pooled)
    return keras.Model(inputs, outputs, name=f"{model.name}_from_token_ids")


def tokenize_dataset(dataset, tokenizer):
    """Maps batches of (text, label) to (encoder inputs, label), in parallel, for `token_ids_model`.

    The padding mask becomes int32: Keras builds a distributed model from a mean over replicas of the first
    batch, which bool tensors cannot take.
    """
    def tokenize(text, label):
        features = tokenizer(text)
        return {"token_ids": features["token_ids"],
                "padding_mask": tf.cast(features["padding_mask"], tf.int32)}, label

    return dataset.map(tokenize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def num_classes_of(model):
    """The number of classes a classifier from `build_classifier` predicts."""
    units = model.get_layer("head").units
    return 2 if units == 1 else units


def class_probabilities(outputs):
    """[B, 1] sigmoid outputs -> [B, 2]; [B, C] softmax outputs unchanged."""
    if outputs.shape[-1] == 1:
        return ops.concatenate([1.0 - outputs, outputs], axis=-1)
    return outputs


def compile_classifier(model, learning_rate, jit_compile=False):
    """Adam, and the cross-entropy and accuracy that fit the head: binary for 2 classes, else sparse.

    Under the mixed_float16 policy, Keras wraps the optimizer for loss scaling. `jit_compile` asks for XLA
    (on a model without string ops, such as `token_ids_model`).
    """
    if num_classes_of(model) == 2:
        loss, accuracy = keras.losses.BinaryCrossentropy(), keras.metrics.BinaryAccuracy(name="accuracy")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=[accuracy],
                  jit_compile=jit_compile)
    return model
