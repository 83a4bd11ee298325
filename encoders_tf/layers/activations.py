"""Activation functions by the names encoder configs use."""

import functools

import keras

_ACTIVATIONS = {
    "gelu": functools.partial(keras.activations.gelu, approximate=False),  # exact: x·Φ(x)
    "gelu_approximate": functools.partial(keras.activations.gelu, approximate=True),  # tanh form ("gelu_new")
    "relu": keras.activations.relu,
}
ACTIVATIONS = tuple(_ACTIVATIONS)


def get_activation(name):
    """The activation function called `name`; a ValueError naming the accepted ones otherwise."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; accepted: {', '.join(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]
