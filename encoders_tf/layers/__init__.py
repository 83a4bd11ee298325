"""The encoder blocks, one concept a file."""

from encoders_tf.layers.attention import MultiHeadSelfAttention
from encoders_tf.layers.embeddings import TextEmbedding
from encoders_tf.layers.feed_forward import FeedForward
from encoders_tf.layers.pooling import POOLING_MODES, SequencePooling
from encoders_tf.layers.position import PositionEmbedding, SinusoidalPositionEncoding, sinusoidal_table
from encoders_tf.layers.transformer_block import TransformerBlock

__all__ = [
    "FeedForward",
    "MultiHeadSelfAttention",
    "POOLING_MODES",
    "PositionEmbedding",
    "SequencePooling",
    "SinusoidalPositionEncoding",
    "TextEmbedding",
    "TransformerBlock",
    "sinusoidal_table",
]
