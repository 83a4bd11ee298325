"""TF Serving's model base path layout: <base>/<name>/<version>/, versions appearing atomically."""

import os
import pathlib
import re
import shutil
import tempfile

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_model_name(name):
    """A model name is one path component: letters, digits, '.', '_', '-'; no separators, no '..'."""
    if not _NAME.match(name or "") or ".." in name:
        raise ValueError(f"invalid model name {name!r}: use letters, digits, '.', '_' and '-' "
                         f"(no path separators, no '..')")
    return name


def versions(model_dir):
    """The integer versions present under a model directory, ascending."""
    model_dir = pathlib.Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def prune_versions(model_dir, keep):
    """Deletes all but the newest `keep` versions of a model directory; returns the versions deleted."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep!r}")
    old = versions(model_dir)[:-keep]
    for version in old:
        shutil.rmtree(pathlib.Path(model_dir) / str(version))
    return old


def write_next_version(base, name, write):
    """Calls `write(directory)` on a temporary directory beside the versions, then renames it into place.

    A server polling <base>/<name> never sees a half-written version.

    Args:
        base: the model base path root, e.g. "saved_models".
        name: the model name (one path component).
        write: a function that writes a SavedModel into the directory it is given.

    Returns:
        The pathlib.Path of the new version directory.
    """
    model_dir = pathlib.Path(base) / check_model_name(name)
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=".staging-", dir=model_dir))  # not a version: no digits
    try:
        write(staging / "model")
        while True:
            target = model_dir / str((versions(model_dir) or [0])[-1] + 1)
            try:
                os.rename(staging / "model", target)  # atomic on one file system
                return target
            except OSError:
                if not target.exists():
                    raise
                # Another exporter took this version number between our look and the rename: try the next.
    finally:
        shutil.rmtree(staging, ignore_errors=True)
