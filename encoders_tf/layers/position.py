"""Absolute position information: learned embeddings, and the sinusoidal encoding."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="encoders_tf")
class PositionEmbedding(keras.layers.Layer):
    """A learned vector per position: rows offset .. offset + T - 1 of the table for an input of length T.

    Args:
        max_length: the longest input; the table has max_length + offset rows.
        initializer: initializer of the table.
        offset: rows skipped at the start of the table (RoBERTa's positions start past the padding index: 2).

    Example:
    >>> positions = PositionEmbedding(max_length=16)
    >>> print(positions(keras.random.normal((2, 5, 8))).shape)
    (2, 5, 8)
    """

    def __init__(self, max_length, initializer="glorot_uniform", offset=0, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.initializer = keras.initializers.get(initializer)
        self.offset = offset

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.max_length + self.offset, input_shape[-1]),
            initializer=self.initializer)

    def call(self, x):
        """x [B, T, H] -> the position vectors broadcast to [B, T, H]."""
        length = ops.shape(x)[1]
        table = ops.cast(self.embeddings[self.offset:self.offset + length], self.compute_dtype)
        return ops.broadcast_to(table[None], ops.shape(x))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(max_length=self.max_length, offset=self.offset,
                      initializer=keras.initializers.serialize(self.initializer))
        return config


def longer_position_table(table, max_length, offset=0):
    """A learned position table for `max_length` positions, made from a shorter one by copying its rows.

    The table's position rows are repeated until `max_length` are filled, so position p starts from the
    vector of position p mod the old length: Longformer's initialization (Beltagy et al., 2020, section
    5.1), which keeps the attention's local patterns, where new random rows would start from noise. The
    `offset` rows before the positions (RoBERTa's) are kept as they are.

    Args:
        table: array [offset + L, H], the trained table.
        max_length: positions wanted, at least L.
        offset: rows before the first position.

    Example:
    >>> longer_position_table(np.arange(6.0).reshape(3, 2), 5).tolist()
    [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [0.0, 1.0], [2.0, 3.0]]
    """
    table = np.asarray(table)
    positions = table[offset:]
    if max_length < len(positions):
        raise ValueError(f"max_length {max_length} is shorter than the table's {len(positions)} positions")
    copies = -(-max_length // len(positions))
    return np.concatenate([table[:offset], np.tile(positions, (copies, 1))[:max_length]])


def sinusoidal_table(length, depth):
    """PE[pos, 2i] = sin(pos / 10000^(2i/depth)), PE[pos, 2i+1] = cos(pos / 10000^(2i/depth)).

    Returns a float32 NumPy array [length, depth] ("Attention Is All You Need", section 3.5).
    """
    positions = np.arange(length, dtype=np.float64)[:, None]
    rates = 1.0 / np.power(10000.0, np.arange(0, depth, 2, dtype=np.float64) / depth)
    table = np.zeros((length, depth), dtype=np.float64)
    table[:, 0::2] = np.sin(positions * rates)
    table[:, 1::2] = np.cos(positions * rates[: depth // 2])
    return table.astype(np.float32)


@keras.saving.register_keras_serializable(package="encoders_tf")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """The fixed sinusoidal position encoding; no weights.

    Args:
        max_length: number of positions encoded (the table is computed once).

    Example:
    >>> encoding = SinusoidalPositionEncoding(max_length=16)
    >>> print(encoding(keras.random.normal((2, 5, 8))).shape)
    (2, 5, 8)
    """

    def __init__(self, max_length, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length

    def build(self, input_shape):
        self._table = sinusoidal_table(self.max_length, input_shape[-1])

    def call(self, x):
        length = ops.shape(x)[1]
        table = ops.convert_to_tensor(self._table, dtype=self.compute_dtype)[:length]
        return ops.broadcast_to(table[None], ops.shape(x))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(max_length=self.max_length)
        return config
