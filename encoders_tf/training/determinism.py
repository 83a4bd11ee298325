"""Deterministic TensorFlow ops for a block of code: the same seed gives the same weights."""

import contextlib


@contextlib.contextmanager
def op_determinism(enabled):
    """Deterministic ops inside when `enabled` (else non-deterministic ones), restored after.

    Drivers turn it off under XLA: Keras turns `jit_compile` off when op determinism is on, since XLA does
    not implement every op deterministically.

    Args:
        enabled: turn op determinism on (True) or off (False) inside the block.

    Example:
    >>> from tensorflow.python.framework import config  # is_op_determinism_enabled is not exported
    >>> with op_determinism(True):  # drivers: op_determinism(not options.jit_compile)
    ...     config.is_op_determinism_enabled()
    True
    >>> config.is_op_determinism_enabled()  # restored
    False
    """
    from tensorflow.python.framework import config as tf_config  # disable_op_determinism is not exported

    was_enabled = tf_config.is_op_determinism_enabled()
    (tf_config.enable_op_determinism if enabled else tf_config.disable_op_determinism)()
    try:
        yield
    finally:
        (tf_config.enable_op_determinism if was_enabled else tf_config.disable_op_determinism)()
