"""The one error type for bad data input."""


class DataError(ValueError):
    """Bad data input: the message says what was wrong, the value seen, and what is accepted."""
