"""Finding data files: --data-dir, else $ENCODERS_TF_DATA."""

import os
import pathlib

from encoders_tf.data.errors import DataError

DATA_ENV = "ENCODERS_TF_DATA"


def data_roots(data_dir=None):
    """The directories searched for data files, in order."""
    root = data_dir or os.environ.get(DATA_ENV)
    return [pathlib.Path(root)] if root else []


def find_file(description, relative_paths, data_dir=None, extra_paths=()):
    """The first existing file among each data root joined with each relative path, then `extra_paths`.

    Raises:
        DataError naming the file expected and every place it was looked for.
    """
    candidates = [root / rel for root in data_roots(data_dir) for rel in relative_paths] + list(extra_paths)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates) or "nowhere: neither --data-dir nor $ENCODERS_TF_DATA is set"
    raise DataError(f"{description} not found; looked in {looked} (set --data-dir or ${DATA_ENV})")
