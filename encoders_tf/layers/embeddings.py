"""Token + position (+ segment) embeddings, normalized: the input to a Transformer stack."""

import keras

from encoders_tf.layers.normalization import make_normalization
from encoders_tf.layers.position import PositionEmbedding, SinusoidalPositionEncoding

# "relative": no absolute positions here; the attention gets a relative position bias instead (T5).
POSITION_EMBEDDINGS = ("learned", "sinusoidal", "relative")


@keras.saving.register_keras_serializable(package="encoders_tf")
class TextEmbedding(keras.layers.Layer):
    """E = dropout(Norm(token[ids] + position[offset..offset+T) + segment[segment_ids])).

    Args:
        vocabulary_size: number of token ids.
        hidden_size: embedding width.
        max_length: number of positions.
        position_embedding: "learned", "sinusoidal", or "relative" (no absolute positions).
        type_vocabulary_size: number of segment ids; 0 for none.
        dropout: dropout rate on the output.
        layer_norm_epsilon: epsilon of the normalization; None for no normalization (pre-norm stacks).
        initializer: initializer of the embedding tables.
        position_offset: learned position rows skipped at the start (RoBERTa: 2).
        normalization: "layer_norm" or "rms_norm".

    Example:
    >>> embedding = TextEmbedding(vocabulary_size=100, hidden_size=8, max_length=16)
    >>> print(embedding(keras.ops.array([[2, 7, 3, 0]])).shape)
    (1, 4, 8)
    """

    def __init__(self, vocabulary_size, hidden_size, max_length, position_embedding="learned",
                 type_vocabulary_size=0, dropout=0.0, layer_norm_epsilon=1e-12,
                 initializer="glorot_uniform", position_offset=0, normalization="layer_norm", **kwargs):
        super().__init__(**kwargs)
        if position_embedding not in POSITION_EMBEDDINGS:
            raise ValueError(f"unknown position_embedding {position_embedding!r}; "
                             f"accepted: {', '.join(POSITION_EMBEDDINGS)}")
        self.vocabulary_size = vocabulary_size
        self.hidden_size = hidden_size
        self.max_length = max_length
        self.position_embedding = position_embedding
        self.type_vocabulary_size = type_vocabulary_size
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer = keras.initializers.get(initializer)
        self.position_offset = position_offset
        self.normalization = normalization
        policy = self.dtype_policy
        self.token = keras.layers.Embedding(
            vocabulary_size, hidden_size, embeddings_initializer=self.initializer, name="token",
            dtype=policy)
        self.position = None
        if position_embedding == "learned":
            self.position = PositionEmbedding(max_length, initializer=self.initializer, offset=position_offset,
                                              name="position", dtype=policy)
        elif position_embedding == "sinusoidal":
            self.position = SinusoidalPositionEncoding(max_length, name="position", dtype=policy)
        self.segment = None
        if type_vocabulary_size:
            self.segment = keras.layers.Embedding(
                type_vocabulary_size, hidden_size, embeddings_initializer=self.initializer,
                name="segment", dtype=policy)
        self.norm = None
        if layer_norm_epsilon is not None:
            self.norm = make_normalization(normalization, layer_norm_epsilon, name="norm", dtype=policy)
        self._dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, token_ids_shape):
        self.token.build(token_ids_shape)
        embedded_shape = tuple(token_ids_shape) + (self.hidden_size,)
        if self.position is not None:
            self.position.build(embedded_shape)
        if self.segment is not None:
            self.segment.build(token_ids_shape)
        if self.norm is not None:
            self.norm.build(embedded_shape)

    def call(self, token_ids, segment_ids=None, training=None):
        """token_ids [B, T] int; segment_ids [B, T] int or None -> [B, T, H]."""
        embedded = self.token(token_ids)
        if self.position is not None:
            embedded = embedded + self.position(embedded)
        if self.segment is not None:
            if segment_ids is None:
                segment_ids = keras.ops.zeros_like(token_ids)
            embedded = embedded + self.segment(segment_ids)
        if self.norm is not None:
            embedded = self.norm(embedded)
        return self._dropout(embedded, training=training)

    def compute_output_shape(self, token_ids_shape):
        return tuple(token_ids_shape) + (self.hidden_size,)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size,
            hidden_size=self.hidden_size,
            max_length=self.max_length,
            position_embedding=self.position_embedding,
            type_vocabulary_size=self.type_vocabulary_size,
            dropout=self.dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            initializer=keras.initializers.serialize(self.initializer),
            position_offset=self.position_offset,
            normalization=self.normalization,
        )
        return config
