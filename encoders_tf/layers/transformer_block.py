"""One Transformer encoder block: self-attention and feed-forward, each with a residual and a normalization."""

import keras

from encoders_tf.layers.attention import MultiHeadSelfAttention
from encoders_tf.layers.feed_forward import FeedForward
from encoders_tf.layers.normalization import make_normalization


@keras.saving.register_keras_serializable(package="encoders_tf")
class TransformerBlock(keras.layers.Layer):
    """An encoder block, post-norm (BERT) or pre-norm.

    post-norm: h = LN(x + Dropout(Attention(x)));   y = LN(h + FFN(h))
    pre-norm:  h = x + Dropout(Attention(LN(x)));   y = h + FFN(LN(h))

    Args:
        num_heads: attention heads.
        intermediate_size: feed-forward inner width.
        activation: feed-forward activation, "gelu", "gelu_approximate" or "relu".
        dropout: dropout on the attention output and the feed-forward output.
        attention_dropout: dropout on the attention probabilities.
        norm_first: pre-norm when True, post-norm when False.
        layer_norm_epsilon: normalization epsilon.
        use_bias: biases in the attention and feed-forward projections.
        kernel_initializer: initializer of all kernels.
        normalization: "layer_norm" or "rms_norm".
        gated_feed_forward: the gated feed-forward (T5 v1.1).
        key_dim: size of each attention head (default hidden // heads).
        scale_scores: divide attention scores by √d_k (T5: False).

    Example:
    >>> block = TransformerBlock(num_heads=2, intermediate_size=32)
    >>> x = keras.random.normal((2, 5, 8))
    >>> print(block(x, padding_mask=keras.ops.ones((2, 5), "bool")).shape)
    (2, 5, 8)
    """

    def __init__(self, num_heads, intermediate_size, activation="gelu", dropout=0.0,
                 attention_dropout=0.0, norm_first=False, layer_norm_epsilon=1e-12, use_bias=True,
                 kernel_initializer="glorot_uniform", normalization="layer_norm", gated_feed_forward=False,
                 key_dim=None, scale_scores=True, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.activation = activation
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.norm_first = norm_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.normalization = normalization
        self.gated_feed_forward = gated_feed_forward
        self.key_dim = key_dim
        self.scale_scores = scale_scores
        policy = self.dtype_policy
        self.attention = MultiHeadSelfAttention(
            num_heads, key_dim=key_dim, dropout=attention_dropout, use_bias=use_bias, scale_scores=scale_scores,
            kernel_initializer=self.kernel_initializer, name="attention", dtype=policy)
        self.attention_norm = make_normalization(normalization, layer_norm_epsilon, name="attention_norm",
                                                 dtype=policy)
        self.feed_forward = FeedForward(
            intermediate_size, activation=activation, dropout=dropout, use_bias=use_bias,
            gated=gated_feed_forward, kernel_initializer=self.kernel_initializer, name="feed_forward",
            dtype=policy)
        self.feed_forward_norm = make_normalization(normalization, layer_norm_epsilon, name="feed_forward_norm",
                                                    dtype=policy)
        self._dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        for layer in (self.attention, self.attention_norm, self.feed_forward, self.feed_forward_norm):
            layer.build(input_shape)

    def call(self, x, padding_mask=None, attention_bias=None, training=None):
        """x [B, T, H]; padding_mask [B, T] (True = real token) -> [B, T, H]."""
        attend = self.attention_norm(x) if self.norm_first else x
        attended = self.attention(attend, padding_mask=padding_mask, attention_bias=attention_bias,
                                  training=training)
        h = x + self._dropout(attended, training=training)
        if not self.norm_first:
            h = self.attention_norm(h)
            return self.feed_forward_norm(h + self.feed_forward(h, training=training))
        return h + self.feed_forward(self.feed_forward_norm(h), training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            intermediate_size=self.intermediate_size,
            activation=self.activation,
            dropout=self.dropout,
            attention_dropout=self.attention_dropout,
            norm_first=self.norm_first,
            layer_norm_epsilon=self.layer_norm_epsilon,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            normalization=self.normalization,
            gated_feed_forward=self.gated_feed_forward,
            key_dim=self.key_dim,
            scale_scores=self.scale_scores,
        )
        return config
