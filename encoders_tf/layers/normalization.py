"""Normalization layers by name: LayerNorm (BERT family) and RMSNorm (T5)."""

import keras
from keras import ops

NORMALIZATIONS = ("layer_norm", "rms_norm")


@keras.saving.register_keras_serializable(package="encoders_tf")
class RMSNorm(keras.layers.Layer):
    """y = x / sqrt(mean(x²) + ε) · γ: no centring and no bias (T5's layer norm), computed in float32.

    Args:
        epsilon: added to the mean square.

    Example:
    >>> print(RMSNorm(epsilon=1e-6)(keras.random.normal((2, 3, 8))).shape)
    (2, 3, 8)
    """

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        x32 = ops.cast(x, "float32")
        normalized = x32 * ops.rsqrt(ops.mean(ops.square(x32), axis=-1, keepdims=True) + self.epsilon)
        return ops.cast(normalized * ops.cast(self.scale, "float32"), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(epsilon=self.epsilon)
        return config


def make_normalization(kind, epsilon, **kwargs):
    """A "layer_norm" (keras.layers.LayerNormalization) or "rms_norm" (RMSNorm) layer."""
    if kind == "layer_norm":
        return keras.layers.LayerNormalization(epsilon=epsilon, **kwargs)
    if kind == "rms_norm":
        return RMSNorm(epsilon=epsilon, **kwargs)
    raise ValueError(f"unknown normalization {kind!r}; accepted: {', '.join(NORMALIZATIONS)}")
