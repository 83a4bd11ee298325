"""Encoders: TransformerEncoder and LSTMEncoder, same inputs, same outputs."""

from encoders_tf.config import EncoderConfig
from encoders_tf.encoders.lstm import LSTMEncoder
from encoders_tf.encoders.transformer import TransformerEncoder


def build_encoder(config: EncoderConfig, **kwargs):
    """The encoder layer that `config` describes.

    Args:
        config: an EncoderConfig.
        **kwargs: passed to the layer (e.g. `name`, `dtype`).

    Example:
    >>> encoder = build_encoder(EncoderConfig.preset("lstm", vocabulary_size=8000))
    """
    if config.architecture == "lstm":
        return LSTMEncoder(
            vocabulary_size=config.vocabulary_size, embedding_size=config.embedding_size or config.hidden_size,
            units=config.lstm_units, num_layers=config.num_layers, bidirectional=config.bidirectional,
            dropout=config.dropout, pooling=config.pooling, **kwargs)
    return TransformerEncoder(
        vocabulary_size=config.vocabulary_size, max_length=config.max_length,
        hidden_size=config.hidden_size, num_layers=config.num_layers, num_heads=config.num_heads,
        intermediate_size=config.intermediate_size, activation=config.activation,
        norm_first=config.norm_first, position_embedding=config.position_embedding,
        type_vocabulary_size=config.type_vocabulary_size, dropout=config.dropout,
        attention_dropout=config.attention_dropout, layer_norm_epsilon=config.layer_norm_epsilon,
        pooling=config.pooling, embedding_size=config.embedding_size, share_layers=config.share_layers,
        position_offset=config.position_offset, normalization=config.normalization, use_bias=config.use_bias,
        gated_feed_forward=config.gated_feed_forward, key_dim=config.key_dim, scale_scores=config.scale_scores,
        relative_buckets=config.relative_buckets, relative_max_distance=config.relative_max_distance,
        normalize_pooled=config.normalize_pooled, **kwargs)


__all__ = ["LSTMEncoder", "TransformerEncoder", "build_encoder"]
