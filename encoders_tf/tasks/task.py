"""Task: the base of task models, a keras.Model holding its tokenizer, encoder and head as attributes."""

import weakref

import keras
import tensorflow as tf

TEXT_SPEC = tf.TensorSpec([None], tf.string, name="text")
TEXT_PAIR_SPEC = tf.TensorSpec([None], tf.string, name="text_pair")


def not_converted(function):
    """`function` as tf.data traces it, without AutoGraph: tokenizing is plain graph code, and converting it
    calls AutoGraph's `super()` support, which walks the Python stack reading every frame's locals (measured:
    0.1 s at first, then 3 to 60 s per epoch's dataset as a run goes on). Task.tokenize_dataset traces its
    function with autograph=False."""
    return tf.autograph.experimental.do_not_convert(function)


# Each model's batch tokenizing function for tf.data (Task.tokenize_dataset).
_TOKENIZE_FUNCTIONS = weakref.WeakKeyDictionary()


@keras.saving.register_keras_serializable(package="encoders_tf")
class Task(keras.Model):
    """A model made of an in-graph tokenizer, an encoder of the contract and a task head.

    `call` takes the encoder's inputs (token ids, padding mask, optional segment ids), so training steps
    are numeric: the tokenizer runs in the tf.data pipeline (`tokenize_dataset`), and in exported
    SavedModels (`serving_endpoints`), which take text. Code reaches the parts through the attributes
    `tokenizer`, `encoder` (and a subclass's `head`), never by layer names.

    Subclasses define `call`, `serving_endpoints` and, for training, `tokenize_dataset`, `default_loss` and
    `default_metrics`.

    Args:
        tokenizer: an in-graph tokenizer layer (text -> encoder inputs dict).
        encoder: an encoder layer of the contract (TransformerEncoder, LSTMEncoder).
    """

    def __init__(self, tokenizer, encoder, **kwargs):
        super().__init__(**kwargs)
        self.tokenizer = tokenizer
        self.encoder = encoder

    def build(self, input_shape=None):
        """Creates every weight; the encoders take any batch size and length, so shapes are not needed."""
        if not self.encoder.built:
            self.encoder.build({"token_ids": (None, None), "padding_mask": (None, None)})
        self.build_head()
        self.built = True

    def build_head(self):
        """Builds the head's layers (a subclass's; none here)."""

    def get_build_config(self):
        return {"input_shape": None}  # non-empty, so that loading calls build_from_config

    def build_from_config(self, config):
        self.build()

    def features(self, text, text_pair=None):
        """The encoder inputs of raw text (and its pairs): tokenized, the padding mask as int32 (replicas
        average the first batch to build a distributed model, which a bool tensor cannot take); segment ids
        only for an encoder with two token types or more (Hugging Face feeds RoBERTa's one type zeros)."""
        features = self.tokenizer(text) if text_pair is None else self.tokenizer(text, text_pair)
        features = {**features, "padding_mask": tf.cast(features["padding_mask"], tf.int32)}
        if getattr(self.encoder, "type_vocabulary_size", 0) < 2:  # one token type (RoBERTa) or none (LSTM)
            features.pop("segment_ids", None)
        return features

    def tokenize_dataset(self, dataset):
        """Batches of (text, targets), or ({"text", "text_pair"}, targets), -> (encoder inputs, targets), mapped
        in parallel and in order."""
        tokenize = _TOKENIZE_FUNCTIONS.get(self)
        if tokenize is None:  # traced once per model and batch structure, not once per epoch's dataset
            model = weakref.ref(self)  # the cache must not keep the model alive

            def tokenize_batch(inputs, targets):
                if isinstance(inputs, dict):
                    return model().features(inputs["text"], inputs.get("text_pair")), targets
                return model().features(inputs), targets

            tokenize = _TOKENIZE_FUNCTIONS[self] = tf.function(tokenize_batch, autograph=False)
        return dataset.map(tokenize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def encode(self, text, text_pair=None):
        """The encoder's pooled output of raw text, float32 [B, H]."""
        return tf.cast(self.encoder(self.features(text, text_pair), training=False)["pooled_output"], tf.float32)

    def serving_endpoints(self):
        """{signature name: (function, input signature)} for the SavedModel: `encode` (text -> embedding), also as
        `serving_default` unless a subclass defines its own."""
        encode = (lambda text: {"embedding": self.encode(text)}, [TEXT_SPEC])
        return {"serving_default": encode, "encode": encode}

    def get_config(self):
        config = super().get_config()
        config.update(tokenizer=keras.saving.serialize_keras_object(self.tokenizer),
                      encoder=keras.saving.serialize_keras_object(self.encoder))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("tokenizer", "encoder"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


@keras.saving.register_keras_serializable(package="encoders_tf")
class TextEncoder(Task):
    """Tokenizer and encoder, no head: text -> embeddings. A converted checkpoint, or the body of any task.

    Example:
    >>> from encoders_tf import EncoderConfig, build_encoder
    >>> from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
    >>> vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
    >>> tokenizer = WordPieceTokenizer(vocabulary, max_length=16)
    >>> config = EncoderConfig.preset("transformer-tiny", vocabulary_size=len(vocabulary), max_length=16)
    >>> encoder = build_encoder(config)
    >>> model = TextEncoder(tokenizer, encoder)
    >>> tuple(model.encode(["a lovely film"]).shape)  # hidden_size 64
    (1, 64)
    """

    def call(self, inputs, training=False):
        return self.encoder(inputs, training=training)

