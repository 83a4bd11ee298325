"""The one error type for bad data input."""


class DataError(ValueError):
    """Bad data input. The message is one line: what was wrong, the value seen, and what is accepted."""
