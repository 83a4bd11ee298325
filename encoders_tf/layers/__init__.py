"""The encoder blocks, one concept a file."""

from encoders_tf.layers.activations import ACTIVATIONS
from encoders_tf.layers.attention import MultiHeadSelfAttention
from encoders_tf.layers.embeddings import POSITION_EMBEDDINGS, TextEmbedding
from encoders_tf.layers.feed_forward import FeedForward
from encoders_tf.layers.masked_lm_head import MaskedLMHead
from encoders_tf.layers.normalization import NORMALIZATIONS, RMSNorm, make_normalization
from encoders_tf.layers.pooling import POOLING_MODES, SequencePooling
from encoders_tf.layers.position import (PositionEmbedding, SinusoidalPositionEncoding, longer_position_table,
                                         sinusoidal_table)
from encoders_tf.layers.relative_position import RelativePositionBias, relative_position_buckets
from encoders_tf.layers.transformer_block import TransformerBlock

__all__ = [
    "ACTIVATIONS",
    "FeedForward",
    "MaskedLMHead",
    "MultiHeadSelfAttention",
    "NORMALIZATIONS",
    "POOLING_MODES",
    "POSITION_EMBEDDINGS",
    "PositionEmbedding",
    "RMSNorm",
    "RelativePositionBias",
    "SequencePooling",
    "SinusoidalPositionEncoding",
    "TextEmbedding",
    "TransformerBlock",
    "longer_position_table",
    "make_normalization",
    "relative_position_buckets",
    "sinusoidal_table",
]
