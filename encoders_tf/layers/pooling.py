"""Sequence pooling: [B, T, H] and a padding mask -> [B, H]."""

import keras
from keras import ops

POOLING_MODES = ("cls", "mean", "max", "weighted", "pooler")


@keras.saving.register_keras_serializable(package="encoders_tf")
class SequencePooling(keras.layers.Layer):
    """Pools a sequence into one vector, ignoring padded positions.

    Modes:
        cls: the first position's vector.
        mean: Σ mᵢhᵢ / Σ mᵢ over unpadded positions.
        max: element-wise max over unpadded positions.
        weighted: Encoder(x) = Σ wᵢhᵢ with wᵢ = softmax over unpadded i of hᵢ·v (v learned).
        pooler: BERT's pooler, tanh(h₀W + b): the first position through a learned dense layer and tanh
            (Hugging Face's `pooler_output`; a checkpoint's `pooler.dense` is imported into it).

    Args:
        mode: one of "cls", "mean", "max", "weighted", "pooler".

    Example:
    >>> pooling = SequencePooling("mean")
    >>> h = keras.random.normal((2, 4, 8))
    >>> print(pooling(h, padding_mask=keras.ops.array([[1, 1, 0, 0], [1, 1, 1, 1]], "bool")).shape)
    (2, 8)
    """

    def __init__(self, mode="cls", **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLING_MODES:
            raise ValueError(f"unknown pooling {mode!r}; accepted: {', '.join(POOLING_MODES)}")
        self.mode = mode
        # Pooling consumes a Keras mask arriving on its input (from an LSTM) instead of warning about it.
        self.supports_masking = True

    def build(self, sequence_shape):
        if self.mode == "weighted":
            self.score_vector = self.add_weight(
                name="score_vector", shape=(sequence_shape[-1],), initializer="glorot_uniform")
        if self.mode == "pooler":
            width = sequence_shape[-1]
            self.kernel = self.add_weight(name="kernel", shape=(width, width), initializer="glorot_uniform")
            self.bias = self.add_weight(name="bias", shape=(width,), initializer="zeros")

    def call(self, sequence, padding_mask=None):
        """sequence [B, T, H]; padding_mask [B, T] (True = real token) -> [B, H]."""
        if self.mode == "cls":
            return sequence[:, 0, :]
        if self.mode == "pooler":
            first = sequence[:, 0, :]
            return ops.tanh(ops.matmul(first, ops.cast(self.kernel, first.dtype)) + ops.cast(self.bias, first.dtype))
        if padding_mask is None:
            padding_mask = ops.ones(ops.shape(sequence)[:2], dtype="bool")
        keep = ops.cast(padding_mask, "bool")[:, :, None]  # [B, T, 1]
        if self.mode == "max":
            lowest = ops.convert_to_tensor(float("-inf"), dtype=sequence.dtype)
            return ops.max(ops.where(keep, sequence, lowest), axis=1)
        if self.mode == "mean":
            weights = ops.cast(keep, sequence.dtype)
            count = ops.maximum(ops.sum(weights, axis=1), 1.0)
            return ops.sum(sequence * weights, axis=1) / count
        scores = ops.einsum("bth,h->bt", ops.cast(sequence, "float32"),
                            ops.cast(self.score_vector, "float32"))
        scores = ops.where(keep[:, :, 0], scores, -1e9)
        weights = ops.cast(ops.softmax(scores, axis=-1), sequence.dtype)
        return ops.einsum("bt,bth->bh", weights, sequence)

    def compute_mask(self, sequence, mask=None):
        return None

    def compute_output_shape(self, sequence_shape):
        return (sequence_shape[0], sequence_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode)
        return config
