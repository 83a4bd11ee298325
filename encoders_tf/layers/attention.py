"""Multi-head self-attention: softmax(QKᵀ/√d_k + mask + bias)V per head."""

import math

import keras
from keras import ops

# Added to the scores of padded keys; the softmax runs in float32, where this is exact zero weight.
_MASKED_SCORE = -1e9


@keras.saving.register_keras_serializable(package="encoders_tf")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Self-attention over a sequence, with a key padding mask and attention dropout.

    Per head h: Q = xWq, K = xWk, V = xWv; A = softmax(QKᵀ/√d_k + mask + bias); output = concat_h(AV)Wo.
    The scores and the softmax are computed in float32 whatever the compute dtype.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head; defaults to hidden_size // num_heads.
        dropout: dropout rate on the attention probabilities.
        use_bias: add biases to the Q, K, V and output projections.
        scale_scores: divide the scores by √d_k; T5 does not (its initialization accounts for it).
        kernel_initializer: initializer for the projection kernels.

    Example:
    >>> attention = MultiHeadSelfAttention(num_heads=2)
    >>> x = keras.random.normal((3, 5, 8))
    >>> mask = ops.array([[1, 1, 1, 0, 0]] * 3, dtype="bool")
    >>> print(attention(x, padding_mask=mask).shape)
    (3, 5, 8)
    """

    def __init__(self, num_heads, key_dim=None, dropout=0.0, use_bias=True, scale_scores=True,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.scale_scores = scale_scores
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self._dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        hidden_size = input_shape[-1]
        head_size = self.key_dim or hidden_size // self.num_heads
        self._head_size = head_size
        projection = (hidden_size, self.num_heads, head_size)
        for name in ("query", "key", "value"):
            setattr(self, f"{name}_kernel", self.add_weight(
                name=f"{name}_kernel", shape=projection, initializer=self.kernel_initializer))
            if self.use_bias:
                setattr(self, f"{name}_bias", self.add_weight(
                    name=f"{name}_bias", shape=(self.num_heads, head_size), initializer="zeros"))
        self.output_kernel = self.add_weight(
            name="output_kernel", shape=(self.num_heads, head_size, hidden_size),
            initializer=self.kernel_initializer)
        if self.use_bias:
            self.output_bias = self.add_weight(name="output_bias", shape=(hidden_size,), initializer="zeros")

    def _project(self, x, name):
        # x [B, T, H] -> [B, T, heads, head_size]
        y = ops.einsum("bth,hnd->btnd", x, getattr(self, f"{name}_kernel"))
        return y + getattr(self, f"{name}_bias") if self.use_bias else y

    def call(self, x, padding_mask=None, attention_bias=None, training=None):
        """Args: x [B, T, H]; padding_mask [B, T] (True/1 = real token); attention_bias [B or 1, heads, T, T]."""
        query = self._project(x, "query")
        if self.scale_scores:  # on the queries [B, T, heads, d], T/d times fewer products than on the scores
            query = query * (1.0 / math.sqrt(self._head_size))
        key = self._project(x, "key")
        value = self._project(x, "value")
        scores = ops.einsum("bqnd,bknd->bnqk", query, key)  # [B, heads, T, T]
        scores = ops.cast(scores, "float32")
        if attention_bias is not None:
            scores = scores + ops.cast(attention_bias, "float32")
        if padding_mask is not None:
            keep = ops.cast(padding_mask, "float32")[:, None, None, :]  # [B, 1, 1, T] over keys
            scores = scores + (1.0 - keep) * _MASKED_SCORE
        probabilities = ops.softmax(scores, axis=-1)
        probabilities = self._dropout(ops.cast(probabilities, self.compute_dtype), training=training)
        context = ops.einsum("bnqk,bknd->bqnd", probabilities, value)  # [B, T, heads, head_size]
        output = ops.einsum("bqnd,ndh->bqh", context, self.output_kernel)
        return output + self.output_bias if self.use_bias else output

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            dropout=self.dropout,
            use_bias=self.use_bias,
            scale_scores=self.scale_scores,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
