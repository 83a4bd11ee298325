"""The package's errors: one base class, so callers (and `encoders-tf`) catch one type.

Each message is one line: what was wrong, the value seen, and what is accepted. `exit_code` is what
`encoders-tf` exits with: 2 for bad usage or input, 1 for a failure while running.
"""


class EncodersError(Exception):
    """Base of every error the package raises on purpose."""

    exit_code = 1


class InputError(EncodersError, ValueError):
    """Bad usage or input (a flag, a value, a path, a file's contents): exit code 2."""

    exit_code = 2


class RunFailure(EncodersError, RuntimeError):
    """A failure while running (a lost worker, an export TF Serving would refuse): exit code 1."""

    exit_code = 1
