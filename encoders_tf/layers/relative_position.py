"""T5's relative position bias: a learned scalar per head for each bucket of key - query distance."""

import math

import keras
from keras import ops


def relative_position_buckets(length, num_buckets=32, max_distance=128, bidirectional=True):
    """Bucket ids [T, T] of the distance key - query, as T5 buckets them.

    Half the buckets hold exact small distances, the other half distances growing logarithmically up to
    `max_distance`; bidirectional buckets split the range by the sign of the distance.
    """
    positions = ops.arange(length, dtype="int32")
    relative = positions[None, :] - positions[:, None]  # [query, key]: key - query
    buckets = ops.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + ops.cast(relative > 0, "int32") * num_buckets
        relative = ops.abs(relative)
    else:
        relative = -ops.minimum(relative, 0)
    max_exact = num_buckets // 2
    # float32, in T5's order of operations, so the bucket boundaries fall where the reference puts them.
    scaled = ops.log(ops.cast(ops.maximum(relative, 1), "float32") / max_exact)
    scaled = scaled / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    large = ops.minimum(max_exact + ops.cast(scaled, "int32"), num_buckets - 1)
    return buckets + ops.where(relative < max_exact, relative, large)


@keras.saving.register_keras_serializable(package="encoders_tf")
class RelativePositionBias(keras.layers.Layer):
    """The attention bias [1, heads, T, T] from learned per-bucket, per-head scalars (computed once, shared).

    Args:
        num_heads: attention heads.
        num_buckets: distance buckets.
        max_distance: distances beyond this share the last bucket.
        bidirectional: separate buckets for keys before and after the query (encoders).

    Example:
    >>> bias = RelativePositionBias(num_heads=4)
    >>> print(bias(keras.random.normal((2, 7, 8))).shape)
    (1, 4, 7, 7)
    """

    def __init__(self, num_heads, num_buckets=32, max_distance=128, bidirectional=True, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        self.bidirectional = bidirectional

    def build(self, input_shape):
        self.embeddings = self.add_weight(name="embeddings", shape=(self.num_buckets, self.num_heads),
                                          initializer="glorot_uniform")

    def call(self, x):
        """x [B, T, H] (only its length is used) -> [1, heads, T, T]."""
        buckets = relative_position_buckets(ops.shape(x)[1], self.num_buckets, self.max_distance,
                                            self.bidirectional)
        values = ops.take(self.embeddings, buckets, axis=0)  # [T, T, heads]
        return ops.transpose(values, (2, 0, 1))[None]

    def compute_output_shape(self, input_shape):
        return (1, self.num_heads, input_shape[1], input_shape[1])

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, num_buckets=self.num_buckets, max_distance=self.max_distance,
                      bidirectional=self.bidirectional)
        return config
