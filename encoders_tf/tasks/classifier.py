"""TextClassifier: text (or a pair of texts) -> tokenizer -> encoder -> pooled output -> class probabilities."""

import keras
import tensorflow as tf
from keras import ops

from encoders_tf.tasks.task import TEXT_PAIR_SPEC, TEXT_SPEC, Task


@keras.saving.register_keras_serializable(package="encoders_tf")
class TextClassifier(Task):
    """Classifies one text, or a pair of texts packed `[CLS] a [SEP] b [SEP]` with segment ids.

    Two classes use one sigmoid unit (the classic baseline's Dense(1, sigmoid)) and `call` returns
    P(class 1) [B, 1]; more classes use a softmax and `call` returns [B, C]. `probabilities` gives [B, C]
    either way. The head stays float32 under mixed precision: probabilities and the loss need the range.

    Args:
        tokenizer: an in-graph tokenizer layer.
        encoder: an encoder layer of the contract.
        num_classes: number of classes, at least 2.
        class_names: their names, index = class id (default "0", "1", ...).
        text_pair: the model classifies pairs of texts (its SavedModel takes `text` and `text_pair`).
        dropout: dropout rate on the pooled output.

    Example:
    >>> from encoders_tf import EncoderConfig, build_encoder
    >>> from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
    >>> vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
    >>> tokenizer = WordPieceTokenizer(vocabulary, max_length=16)
    >>> config = EncoderConfig.preset("transformer-tiny", vocabulary_size=len(vocabulary), max_length=16)
    >>> encoder = build_encoder(config)
    >>> model = TextClassifier(tokenizer, encoder, num_classes=3)
    >>> tuple(model.probabilities(["what a lovely day"]).shape)
    (1, 3)
    """

    def __init__(self, tokenizer, encoder, num_classes, class_names=None, text_pair=False, dropout=0.1, **kwargs):
        super().__init__(tokenizer, encoder, **kwargs)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer of at least 2, got {num_classes!r}")
        class_names = [str(name) for name in (class_names or range(num_classes))]
        if len(class_names) != num_classes:
            raise ValueError(f"class_names must name the {num_classes} classes, got {len(class_names)}: "
                             f"{class_names}")
        self.num_classes = num_classes
        self.class_names = class_names
        self.text_pair = bool(text_pair)
        self.dropout = dropout
        self.head_dropout = keras.layers.Dropout(dropout, name="head_dropout")
        # The head gives logits; `call` applies the activation (distillation matches the logits themselves).
        self.head = keras.layers.Dense(1 if num_classes == 2 else num_classes, name="head", dtype="float32")

    def build_head(self):
        if not self.head.built:
            self.head.build((None, self.encoder.output_size))

    def call(self, inputs, training=False):
        return self.activate(self.logits(inputs, training=training))

    def logits(self, inputs, training=False):
        """The head's logits of encoder inputs: float32 [B, 1] for two classes, else [B, C]."""
        pooled = self.encoder(inputs, training=training)["pooled_output"]
        return self.head(self.head_dropout(pooled, training=training))

    def activate(self, logits):
        """`call`'s outputs from logits: the sigmoid of [B, 1] for two classes, else the softmax of [B, C]."""
        return ops.sigmoid(logits) if self.num_classes == 2 else ops.softmax(logits, axis=-1)

    def probabilities(self, text, text_pair=None):
        """Class probabilities float32 [B, C] of raw text (and its pairs)."""
        outputs = self(self.features(text, text_pair), training=False)
        return tf.cast(class_probabilities(outputs), tf.float32)

    def default_loss(self):
        if self.num_classes == 2:
            return keras.losses.BinaryCrossentropy()
        return keras.losses.SparseCategoricalCrossentropy()

    def default_metrics(self):
        if self.num_classes == 2:
            return [keras.metrics.BinaryAccuracy(name="accuracy")]
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def serving_endpoints(self):
        names = tf.constant(self.class_names, dtype=tf.string)

        def predict(text, text_pair=None):
            probabilities = self.probabilities(text, text_pair)
            label = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
            return {"probabilities": probabilities, "label": label, "label_name": tf.gather(names, label)}

        if self.text_pair:
            return {"serving_default": (predict, [TEXT_SPEC, TEXT_PAIR_SPEC]),
                    "encode": (lambda text, text_pair: {"embedding": self.encode(text, text_pair)},
                               [TEXT_SPEC, TEXT_PAIR_SPEC])}
        return {**super().serving_endpoints(), "serving_default": (predict, [TEXT_SPEC])}

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, class_names=self.class_names, text_pair=self.text_pair,
                      dropout=self.dropout)
        return config


def class_probabilities(outputs):
    """[B, 1] sigmoid outputs -> [B, 2]; [B, C] softmax outputs unchanged."""
    if outputs.shape[-1] == 1:
        return ops.concatenate([1.0 - outputs, outputs], axis=-1)
    return outputs
