"""Counted FLOPs of an encoder's forward pass: TensorFlow's profiler over the graph of one text, weights frozen
into constants, an LSTM's time loop unrolled so that every step is counted."""

from __future__ import annotations

import contextlib
import os
import sys


def forward_flops(config, length):
    """Floating-point operations (a multiply-add counts 2) of the encoder `config` on one text of `length` tokens.

    The encoder is built afresh (weights do not change the count); an LSTM is unrolled, else the profiler would
    count its loop body once.

    Args:
        config: an EncoderConfig.
        length: tokens in the text, at most `config.max_length` for learned positions.

    Example:
    >>> from encoders_tf import EncoderConfig
    >>> config = EncoderConfig.preset("lstm", vocabulary_size=100, max_length=16)
    >>> forward_flops(config, 8) // 8  # per token: 2 x 4 gates x 128 units x (128 + 128 inputs), and the rest
    263682
    """
    import keras
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from encoders_tf.encoders import build_encoder

    encoder = build_encoder(config)
    encoder.build({"token_ids": (None, None), "padding_mask": (None, None)})
    for layer in encoder._flatten_layers():
        if isinstance(layer, keras.layers.LSTM):
            layer.unroll = True
    spec = {"token_ids": tf.TensorSpec([1, length], tf.int32), "padding_mask": tf.TensorSpec([1, length], tf.int32)}
    function = tf.function(lambda inputs: encoder(inputs, training=False)["pooled_output"])
    frozen = convert_variables_to_constants_v2(function.get_concrete_function(spec))
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    with _quiet():
        return int(tf.compat.v1.profiler.profile(graph=frozen.graph, options=options).total_float_ops)


@contextlib.contextmanager
def _quiet():
    """Silences the TF1 profiler: its deprecation warnings (Python) and its session lines (C++, on fd 2)."""
    import tensorflow as tf

    level = tf.get_logger().level
    tf.get_logger().setLevel("ERROR")
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        tf.get_logger().setLevel(level)


def flops_per_token(config, length):
    """`forward_flops(config, length) / length`."""
    return forward_flops(config, length) / length
