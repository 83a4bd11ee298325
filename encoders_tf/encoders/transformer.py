"""TransformerEncoder: embeddings -> a stack of Transformer blocks -> sequence and pooled outputs."""

import keras
from keras import ops

from encoders_tf.layers import SequencePooling, TextEmbedding, TransformerBlock


@keras.saving.register_keras_serializable(package="encoders_tf")
class TransformerEncoder(keras.layers.Layer):
    """A Transformer encoder that honours the encoder contract.

    Inputs, a dict: `token_ids` int [B, T], `padding_mask` bool/int [B, T], optional `segment_ids` int [B, T].
    Outputs, a dict: `sequence_output` [B, T, H] and `pooled_output` [B, H].

    Args:
        vocabulary_size: number of token ids.
        max_length: number of positions.
        hidden_size: model width H.
        num_layers: number of Transformer blocks.
        num_heads: attention heads per block.
        intermediate_size: feed-forward inner width.
        activation: "gelu" (exact) or "relu".
        norm_first: pre-norm blocks (then a final LayerNorm) when True; post-norm (BERT) when False.
        position_embedding: "learned" or "sinusoidal".
        type_vocabulary_size: segment ids; 0 for no token-type embedding.
        dropout: dropout on embeddings and residual branches.
        attention_dropout: dropout on attention probabilities.
        layer_norm_epsilon: LayerNormalization epsilon.
        pooling: "cls", "mean", "max" or "weighted".

    Example:
    >>> encoder = TransformerEncoder(vocabulary_size=100, max_length=16, hidden_size=8, num_layers=1,
    ...                              num_heads=2, intermediate_size=16)
    >>> outputs = encoder({"token_ids": keras.ops.array([[2, 9, 3, 0]]),
    ...                    "padding_mask": keras.ops.array([[1, 1, 1, 0]], "bool")})
    >>> outputs["sequence_output"].shape, outputs["pooled_output"].shape
    ((1, 4, 8), (1, 8))
    """

    def __init__(self, vocabulary_size, max_length=128, hidden_size=128, num_layers=2, num_heads=2,
                 intermediate_size=512, activation="gelu", norm_first=False, position_embedding="learned",
                 type_vocabulary_size=0, dropout=0.1, attention_dropout=0.1, layer_norm_epsilon=1e-12,
                 pooling="cls", **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.max_length = max_length
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.activation = activation
        self.norm_first = norm_first
        self.position_embedding = position_embedding
        self.type_vocabulary_size = type_vocabulary_size
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.pooling = pooling
        policy = self.dtype_policy
        self.embedding = TextEmbedding(
            vocabulary_size, hidden_size, max_length, position_embedding=position_embedding,
            type_vocabulary_size=type_vocabulary_size, dropout=dropout,
            # Pre-norm stacks normalize at the start of each block instead.
            layer_norm_epsilon=None if norm_first else layer_norm_epsilon,
            name="embedding", dtype=policy)
        self.blocks = [
            TransformerBlock(
                num_heads, intermediate_size, activation=activation, dropout=dropout,
                attention_dropout=attention_dropout, norm_first=norm_first,
                layer_norm_epsilon=layer_norm_epsilon, name=f"block_{index}", dtype=policy)
            for index in range(num_layers)
        ]
        self.final_norm = None
        if norm_first:
            self.final_norm = keras.layers.LayerNormalization(
                epsilon=layer_norm_epsilon, name="final_norm", dtype=policy)
        self.pooler = SequencePooling(pooling, name="pooling", dtype=policy)

    @property
    def output_size(self):
        return self.hidden_size

    def build(self, input_shape):
        token_ids_shape = tuple(input_shape["token_ids"])
        sequence_shape = token_ids_shape + (self.hidden_size,)
        self.embedding.build(token_ids_shape)
        for block in self.blocks:
            block.build(sequence_shape)
        if self.final_norm is not None:
            self.final_norm.build(sequence_shape)
        self.pooler.build(sequence_shape)

    def call(self, inputs, training=None):
        padding_mask = ops.cast(inputs["padding_mask"], "bool")
        x = self.embedding(inputs["token_ids"], inputs.get("segment_ids"), training=training)
        for block in self.blocks:
            x = block(x, padding_mask=padding_mask, training=training)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return {"sequence_output": x, "pooled_output": self.pooler(x, padding_mask=padding_mask)}

    def compute_output_shape(self, input_shape):
        batch, length = tuple(input_shape["token_ids"])
        return {"sequence_output": (batch, length, self.hidden_size),
                "pooled_output": (batch, self.hidden_size)}

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size,
            max_length=self.max_length,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            intermediate_size=self.intermediate_size,
            activation=self.activation,
            norm_first=self.norm_first,
            position_embedding=self.position_embedding,
            type_vocabulary_size=self.type_vocabulary_size,
            dropout=self.dropout,
            attention_dropout=self.attention_dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            pooling=self.pooling,
        )
        return config
