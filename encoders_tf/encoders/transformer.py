"""TransformerEncoder: embeddings -> a stack of Transformer blocks -> sequence and pooled outputs.

One implementation covers the BERT, RoBERTa, ALBERT, DistilBERT and T5-encoder families through its options.
"""

import keras
from keras import ops

from encoders_tf.layers import (RelativePositionBias, SequencePooling, TextEmbedding, TransformerBlock,
                                make_normalization)


@keras.saving.register_keras_serializable(package="encoders_tf")
class TransformerEncoder(keras.layers.Layer):
    """A Transformer encoder that honours the encoder contract.

    Inputs, a dict: `token_ids` int [B, T], `padding_mask` bool/int [B, T], optional `segment_ids` int [B, T].
    Outputs, a dict: `sequence_output` [B, T, H] and `pooled_output` [B, H].

    Args:
        vocabulary_size: number of token ids.
        max_length: the longest input (number of absolute positions).
        hidden_size: model width H.
        num_layers: number of Transformer blocks (applications of the one block when share_layers).
        num_heads: attention heads per block.
        intermediate_size: feed-forward inner width.
        activation: "gelu" (exact), "gelu_approximate" (tanh) or "relu".
        norm_first: pre-norm blocks (then a final normalization) when True; post-norm (BERT) when False.
        position_embedding: "learned", "sinusoidal", or "relative" (T5's bucketed relative position bias,
            computed once and shared by all blocks).
        type_vocabulary_size: segment ids; 0 for no token-type embedding.
        dropout: dropout on embeddings and residual branches.
        attention_dropout: dropout on attention probabilities.
        layer_norm_epsilon: normalization epsilon.
        pooling: "cls", "mean", "max" or "weighted".
        embedding_size: token embedding width E when it differs from H (ALBERT), projected to H.
        share_layers: one set of block weights used by every layer (ALBERT).
        position_offset: learned position rows skipped (RoBERTa: 2, past the padding index).
        normalization: "layer_norm" or "rms_norm" (T5).
        use_bias: biases in attention and feed-forward projections (T5: False).
        gated_feed_forward: gated feed-forward (T5 v1.1).
        key_dim: size of each attention head (default hidden_size // num_heads).
        scale_scores: divide attention scores by √d_k (T5: False).
        relative_buckets: buckets of the relative position bias.
        relative_max_distance: largest distance the relative buckets tell apart.
        normalize_pooled: L2-normalize `pooled_output` (sentence embeddings).

    Example:
    >>> encoder = TransformerEncoder(vocabulary_size=100, max_length=16, hidden_size=8, num_layers=1,
    ...                              num_heads=2, intermediate_size=16)
    >>> outputs = encoder({"token_ids": keras.ops.array([[2, 9, 3, 0]]),
    ...                    "padding_mask": keras.ops.array([[1, 1, 1, 0]], "bool")})
    >>> print(outputs["sequence_output"].shape, outputs["pooled_output"].shape)
    (1, 4, 8) (1, 8)
    """

    def __init__(self, vocabulary_size, max_length=128, hidden_size=128, num_layers=2, num_heads=2,
                 intermediate_size=512, activation="gelu", norm_first=False, position_embedding="learned",
                 type_vocabulary_size=0, dropout=0.1, attention_dropout=0.1, layer_norm_epsilon=1e-12,
                 pooling="cls", embedding_size=None, share_layers=False, position_offset=0,
                 normalization="layer_norm", use_bias=True, gated_feed_forward=False, key_dim=None,
                 scale_scores=True, relative_buckets=32, relative_max_distance=128, normalize_pooled=False,
                 **kwargs):
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
        self.embedding_size = embedding_size
        self.share_layers = share_layers
        self.position_offset = position_offset
        self.normalization = normalization
        self.use_bias = use_bias
        self.gated_feed_forward = gated_feed_forward
        self.key_dim = key_dim
        self.scale_scores = scale_scores
        self.relative_buckets = relative_buckets
        self.relative_max_distance = relative_max_distance
        self.normalize_pooled = normalize_pooled
        policy = self.dtype_policy
        self.embedding = TextEmbedding(
            vocabulary_size, embedding_size or hidden_size, max_length, position_embedding=position_embedding,
            type_vocabulary_size=type_vocabulary_size, dropout=dropout,
            # Pre-norm stacks normalize at the start of each block instead.
            layer_norm_epsilon=None if norm_first else layer_norm_epsilon, position_offset=position_offset,
            normalization=normalization, name="embedding", dtype=policy)
        self.embedding_projection = None
        if embedding_size and embedding_size != hidden_size:
            self.embedding_projection = keras.layers.Dense(hidden_size, name="embedding_projection", dtype=policy)
        self.relative_position_bias = None
        if position_embedding == "relative":
            self.relative_position_bias = RelativePositionBias(
                num_heads, relative_buckets, relative_max_distance, name="relative_position_bias", dtype=policy)
        block_options = dict(
            activation=activation, dropout=dropout, attention_dropout=attention_dropout, norm_first=norm_first,
            layer_norm_epsilon=layer_norm_epsilon, use_bias=use_bias, normalization=normalization,
            gated_feed_forward=gated_feed_forward, key_dim=key_dim, scale_scores=scale_scores, dtype=policy)
        distinct_blocks = 1 if share_layers else num_layers
        self.blocks = [TransformerBlock(num_heads, intermediate_size, name=f"block_{index}", **block_options)
                       for index in range(distinct_blocks)]
        self.final_norm = None
        if norm_first:
            self.final_norm = make_normalization(normalization, layer_norm_epsilon, name="final_norm", dtype=policy)
        self.pooler = SequencePooling(pooling, name="pooling", dtype=policy)

    @property
    def output_size(self):
        return self.hidden_size

    @property
    def token_embedding(self):
        """The token embedding layer (keras.layers.Embedding, [V, E]); a masked-LM decoder ties to it."""
        return self.embedding.token

    def build(self, input_shape):
        token_ids_shape = tuple(input_shape["token_ids"])
        sequence_shape = token_ids_shape + (self.hidden_size,)
        self.embedding.build(token_ids_shape)
        if self.embedding_projection is not None:
            self.embedding_projection.build(token_ids_shape + (self.embedding_size,))
        if self.relative_position_bias is not None:
            self.relative_position_bias.build(sequence_shape)
        for block in self.blocks:
            block.build(sequence_shape)
        if self.final_norm is not None:
            self.final_norm.build(sequence_shape)
        self.pooler.build(sequence_shape)

    def call(self, inputs, training=None):
        padding_mask = ops.cast(inputs["padding_mask"], "bool")
        x = self.embedding(inputs["token_ids"], inputs.get("segment_ids"), training=training)
        if self.embedding_projection is not None:
            x = self.embedding_projection(x)
        bias = None if self.relative_position_bias is None else self.relative_position_bias(x)
        for index in range(self.num_layers):
            block = self.blocks[0 if self.share_layers else index]
            x = block(x, padding_mask=padding_mask, attention_bias=bias, training=training)
        if self.final_norm is not None:
            x = self.final_norm(x)
        pooled = self.pooler(x, padding_mask=padding_mask)
        if self.normalize_pooled:
            pooled = pooled / ops.maximum(ops.norm(pooled, axis=-1, keepdims=True), 1e-12)
        return {"sequence_output": x, "pooled_output": pooled}

    def compute_output_shape(self, input_shape):
        batch, length = tuple(input_shape["token_ids"])
        return {"sequence_output": (batch, length, self.hidden_size),
                "pooled_output": (batch, self.hidden_size)}

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in (
            "vocabulary_size", "max_length", "hidden_size", "num_layers", "num_heads", "intermediate_size",
            "activation", "norm_first", "position_embedding", "type_vocabulary_size", "dropout",
            "attention_dropout", "layer_norm_epsilon", "pooling", "embedding_size", "share_layers",
            "position_offset", "normalization", "use_bias", "gated_feed_forward", "key_dim", "scale_scores",
            "relative_buckets", "relative_max_distance", "normalize_pooled")})
        return config
