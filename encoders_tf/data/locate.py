"""Finding data files: in `--data-dir`, else in $ENCODERS_TF_DATA (then wherever a data set adds)."""

from __future__ import annotations

import os
import pathlib

from encoders_tf.data.errors import DataError

DATA_ENV = "ENCODERS_TF_DATA"


def data_root(data_dir: str | os.PathLike | None = None) -> pathlib.Path | None:
    """The data directory: `data_dir`, else $ENCODERS_TF_DATA, else None."""
    root = data_dir or os.environ.get(DATA_ENV)
    return pathlib.Path(root) if root else None


def candidates(data_dir, relative_paths) -> list[pathlib.Path]:
    """Each relative path under the data directory, in order (none when no data directory is set)."""
    root = data_root(data_dir)
    return [root / relative for relative in relative_paths] if root else []


def find_file(description: str, relative_paths, data_dir=None, extra_paths=(), hint: str = "") -> pathlib.Path:
    """The first existing file among the relative paths under the data directory, then `extra_paths`.

    Args:
        description: what the file is, for the error message (e.g. "SST-2 train.tsv").
        relative_paths: paths tried under the data directory, in order.
        data_dir: the data directory; None means $ENCODERS_TF_DATA.
        extra_paths: absolute paths tried after the data directory (e.g. inside an installed package).
        hint: another way to provide the file, added to the error message.

    Raises:
        DataError: naming the file, every place looked, and how to point at it.

    Example:
    >>> find_file("SST-2 dev.tsv", ["sst2/dev.tsv", "dev.tsv"], data_dir="../shared/data")
    PosixPath('../shared/data/sst2/dev.tsv')
    """
    tried = candidates(data_dir, relative_paths) + [pathlib.Path(path) for path in extra_paths]
    for path in tried:
        if path.is_file():
            return path
    raise DataError(f"{description} not found; {places_looked(data_dir, tried)}; "
                    f"point --data-dir or ${DATA_ENV} at the folder that holds it{hint}")


def places_looked(data_dir, tried) -> str:
    """A phrase listing the paths tried, and why there were few (no data directory, or a missing one)."""
    root = data_root(data_dir)
    if root is None:
        note = f"no data directory is set (neither --data-dir nor ${DATA_ENV})"
    elif not root.is_dir():
        note = f"the data directory {str(root)!r} does not exist"
    else:
        note = ""
    looked = "looked in " + ", ".join(str(path) for path in tried) if tried else ""
    return "; ".join(part for part in (looked, note) if part)
