"""TokenClassifier: text of space-separated words -> tokenizer -> encoder -> a tag per word (named entities...).

Each word is predicted from its first piece's vector in the encoder's sequence output, so the outputs, the
loss and the metrics are per word, as the CoNLL evaluation counts them.
"""

import keras
import tensorflow as tf

from encoders_tf.tasks.task import TEXT_SPEC, Task, not_converted
from encoders_tf.tasks.token_accuracy import TokenAccuracy
from encoders_tf.text.words import NO_POSITION, tokenize_words

IGNORED_TAG = -1  # tag id of padding and of words cut off by max_length: left out of the loss and metrics
ENCODER_INPUTS = ("token_ids", "padding_mask", "segment_ids")


@keras.saving.register_keras_serializable(package="encoders_tf")
class TokenClassifier(Task):
    """Tags every word of a text: tag probabilities per word, from the encoder output at the word's first piece.

    `call` takes the encoder's inputs plus `word_starts` int32 [B, W] (see `encoders_tf.text.words`) and returns
    tag probabilities float32 [B, W, C] (softmax; the head stays float32 under mixed precision). Positions of
    words cut off by the tokenizer's max_length, and padding (`word_starts` -1), give the first piece's
    probabilities: the loss and metrics leave them out through their label, -1.

    Args:
        tokenizer: an in-graph tokenizer layer.
        encoder: an encoder layer of the contract.
        tag_names: the tag names, index = tag id (e.g. ("O", "B-LOC", ...)); at least 2, all different.
        dropout: dropout rate on the word vectors.

    Example:
    >>> from encoders_tf import EncoderConfig, build_encoder
    >>> from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
    >>> vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
    >>> tokenizer = WordPieceTokenizer(vocabulary, max_length=16)
    >>> config = EncoderConfig.preset("transformer-tiny", vocabulary_size=len(vocabulary), max_length=16)
    >>> encoder = build_encoder(config)
    >>> model = TokenClassifier(tokenizer, encoder, tag_names=["O", "B-PER", "I-PER"])
    >>> tagged = model.tag(["Peter Blackburn left"])  # untrained: the tags themselves are arbitrary
    >>> tuple(tagged["tags"].shape), tagged["word_count"].numpy().tolist()
    ((1, 3), [3])
    """

    def __init__(self, tokenizer, encoder, tag_names, dropout=0.1, **kwargs):
        super().__init__(tokenizer, encoder, **kwargs)
        tag_names = [str(name) for name in tag_names]
        if len(tag_names) < 2 or len(set(tag_names)) != len(tag_names):
            raise ValueError(f"tag_names must name at least 2 different tags, got {tag_names}")
        self.tag_names = tag_names
        self.dropout = dropout
        self.head_dropout = keras.layers.Dropout(dropout, name="head_dropout")
        self.head = keras.layers.Dense(len(tag_names), activation="softmax", name="head", dtype="float32")

    @property
    def num_tags(self):
        return len(self.tag_names)

    def build_head(self):
        if not self.head.built:
            self.head.build((None, None, self.encoder.output_size))

    def call(self, inputs, training=False):
        encoder_inputs = {key: inputs[key] for key in ENCODER_INPUTS if key in inputs}
        sequence = self.encoder(encoder_inputs, training=training)["sequence_output"]  # [B, T, H]
        starts = tf.maximum(tf.cast(inputs["word_starts"], tf.int32), 0)  # [B, W]; -1 reads position 0
        words = tf.gather(sequence, starts, batch_dims=1)  # [B, W, H]
        return self.head(self.head_dropout(words, training=training))  # [B, W, C]

    def features(self, text, text_pair=None):
        """Encoder inputs of raw text plus `word_starts` int32 [B, W] and `word_count` int32 [B] (see
        `encoders_tf.text.words.tokenize_words`); the padding mask as int32."""
        if text_pair is not None:
            raise ValueError("a TokenClassifier tags single texts; got a text_pair")
        features = tokenize_words(self.tokenizer, text)
        return {**features, "padding_mask": tf.cast(features["padding_mask"], tf.int32)}

    def tokenize_dataset(self, dataset):
        """Batches of (text tf.string [B], tag ids int [B, W] padded with -1) -> (features: token_ids,
        padding_mask, word_starts; tags int32 [B, W], set to -1 for words cut off by max_length), in order."""
        def tokenize(text, tags):
            features = self.features(text)
            features.pop("word_count")
            tags = tf.cast(tags, tf.int32)
            width = tf.shape(features["word_starts"])[1]
            tags = tags[:, :width]
            tags = tf.pad(tags, [[0, 0], [0, width - tf.shape(tags)[1]]], constant_values=IGNORED_TAG)
            return features, tf.where(features["word_starts"] == NO_POSITION, IGNORED_TAG, tags)

        return dataset.map(not_converted(tokenize), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def tag(self, text):
        """Tags of raw text: {"tags": tf.string [B, W] ("" for padding and cut-off words), "tag_ids": int64
        [B, W] (-1 there), "word_count": int32 [B] (cut-off words included)}.

        Args:
            text: tf.string [B] (or a list of str), words separated by spaces.
        """
        features = self.features(text)
        probabilities = self(features, training=False)  # [B, W, C]
        predicted = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
        seen = features["word_starts"] != NO_POSITION
        names = tf.constant(self.tag_names, dtype=tf.string)
        return {"tags": tf.where(seen, tf.gather(names, predicted), ""),
                "tag_ids": tf.where(seen, predicted, tf.constant(IGNORED_TAG, tf.int64)),
                "word_count": features["word_count"]}

    def default_loss(self):
        return keras.losses.SparseCategoricalCrossentropy(ignore_class=IGNORED_TAG)

    def default_metrics(self):
        return [TokenAccuracy(ignore_label=IGNORED_TAG, name="accuracy")]

    def serving_endpoints(self):
        """`serving_default`: text [None] -> tags [None, W], tag_ids [None, W], word_count [None]; `encode`."""
        return {**super().serving_endpoints(), "serving_default": (self.tag, [TEXT_SPEC])}

    def get_config(self):
        config = super().get_config()
        config.update(tag_names=self.tag_names, dropout=self.dropout)
        return config
