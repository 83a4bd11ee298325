"""The one error type for bad data input."""

from encoders_tf.errors import InputError


class DataError(InputError):
    """Bad data input. The message is one line: what was wrong, the value seen, and what is accepted."""
