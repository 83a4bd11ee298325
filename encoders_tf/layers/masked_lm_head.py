"""MaskedLMHead: BERT's masked-LM head, its decoder tied to the encoder's token embedding."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="encoders_tf")
class MaskedLMHead(keras.layers.Layer):
    """Predicts the tokens at the masked positions: gather, dense to E, GELU, LayerNorm, h · Eᵀ + b.

    As BERT's `cls.predictions` (and keras-hub's `MaskedLMHead`): the hidden states at `mask_positions` are
    gathered, mapped by a dense layer to the token embedding's width E, through the activation and a
    LayerNorm, then decoded with the token embedding matrix itself (logits = h · Eᵀ, [P, V]) plus an output
    bias [V] (Press and Wolf 2016). The encoder's width H may differ from E (an LSTM encoder's output, a
    factorized ALBERT embedding): the dense layer maps H to E.

    The head owns only its dense layer, its LayerNorm and the output bias; the embedding stays the
    encoder's (it is not tracked here), so a model saves it once. A model holding the head rebuilds it from
    its encoder when loaded (as `MaskedLanguageModel` does): the config holds no embedding, and `from_config`
    needs the `token_embedding` passed again.

    The head computes in its own dtype policy; a task keeps it float32 under mixed precision, for the
    softmax over the vocabulary.

    Args:
        token_embedding: the `keras.layers.Embedding` ([V, E]) to tie the decoder to, e.g.
            `encoder.token_embedding`.
        intermediate_activation: the activation after the dense layer (BERT: exact GELU).
        layer_norm_epsilon: the LayerNorm's epsilon.
        kernel_initializer: the dense layer's kernel initializer (BERT: truncated normal, stddev 0.02).

    Example:
    >>> embedding = keras.layers.Embedding(100, 16)
    >>> embedding.build((None, None))
    >>> head = MaskedLMHead(embedding)
    >>> hidden = keras.random.normal((2, 10, 32))  # [B, T, H]: H need not be E
    >>> head(hidden, keras.ops.array([[1, 4, 0], [2, 3, 9]])).shape  # [B, P, V]
    TensorShape([2, 3, 100])
    """

    def __init__(self, token_embedding, intermediate_activation="gelu", layer_norm_epsilon=1e-12,
                 kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(token_embedding, keras.layers.Embedding):
            raise ValueError(f"token_embedding must be a keras.layers.Embedding (e.g. encoder.token_embedding), got "
                             f"{type(token_embedding).__name__}")
        # Not tracked: the embedding's weights are the encoder's, saved and trained once, through it.
        object.__setattr__(self, "_token_embedding", token_embedding)
        self.vocabulary_size = token_embedding.input_dim
        self.embedding_size = token_embedding.output_dim
        self.intermediate_activation = keras.activations.get(intermediate_activation)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer or keras.initializers.TruncatedNormal(stddev=0.02))
        self.dense = keras.layers.Dense(self.embedding_size, activation=self.intermediate_activation,
                                        kernel_initializer=self.kernel_initializer, name="dense",
                                        dtype=self.dtype_policy)
        self.layer_norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, name="layer_norm",
                                                          dtype=self.dtype_policy)
        self.supports_masking = True  # takes an LSTM's masked sequence; the logits carry no mask (compute_mask)

    @property
    def token_embedding(self):
        """The tied embedding layer (the encoder's)."""
        return self._token_embedding

    def build(self, inputs_shape, mask_positions_shape=None):
        width = inputs_shape[-1]  # H
        self.dense.build((None, None, width))
        self.layer_norm.build((None, None, self.embedding_size))
        self.output_bias = self.add_weight(name="output_bias", shape=(self.vocabulary_size,), initializer="zeros")
        self.built = True

    def call(self, inputs, mask_positions):
        """inputs float [B, T, H], mask_positions int [B, P] -> logits [B, P, V]."""
        positions = ops.expand_dims(ops.cast(mask_positions, "int32"), axis=-1)  # [B, P, 1]
        hidden = ops.take_along_axis(inputs, positions, axis=1)  # [B, P, H]
        hidden = self.layer_norm(self.dense(hidden))  # [B, P, E]
        embeddings = ops.cast(self._token_embedding.embeddings, self.compute_dtype)  # [V, E]
        logits = ops.matmul(hidden, ops.transpose(embeddings))  # [B, P, V]
        return logits + ops.cast(self.output_bias, self.compute_dtype)

    def compute_mask(self, inputs, mask_positions=None, mask=None):
        return None  # the positions are all real: padded ones are weighted out by the loss instead

    def compute_output_shape(self, inputs_shape, mask_positions_shape):
        return tuple(mask_positions_shape) + (self.vocabulary_size,)

    def get_config(self):
        config = super().get_config()
        config.update(
            intermediate_activation=keras.activations.serialize(self.intermediate_activation),
            layer_norm_epsilon=self.layer_norm_epsilon,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config

    @classmethod
    def from_config(cls, config, token_embedding=None):
        if token_embedding is None:
            raise ValueError("a MaskedLMHead is rebuilt by the model that holds its tied embedding: call "
                             "MaskedLMHead.from_config(config, token_embedding=encoder.token_embedding)")
        return cls(token_embedding, **config)
