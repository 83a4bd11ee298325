"""The models a server holds: every version under a base path, loaded, and kept in step with the disk."""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import threading

import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the TF Text ops that exported tokenizers run)
from tensorflow.core.protobuf import saved_model_pb2

from encoders_tf.errors import InputError
from encoders_tf.export import MODELS_CONFIG, read_models_config, versions

log = logging.getLogger("encoders_tf.serving")

UNKNOWN_ERROR_CODE = 2  # tensorflow.error.Code.UNKNOWN


class ServeError(InputError):
    """The server cannot start: a missing base path, an invalid models.config or a port in use."""


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    """One version directory of a model: loaded, or the reason it could not be.

    Args:
        name: the model name.
        version: the integer version.
        path: the version directory.
        loaded: the object `tf.saved_model.load` returned (None if loading failed). It owns the variables
            the signatures read, so it is kept as long as the version is.
        signature_defs: the SignatureDefs of the `serve` MetaGraph, as TF Serving's metadata shows them.
        error: why loading failed, or None.
        error_code: a tensorflow.error.Code for `error` (0 = OK).
    """

    name: str
    version: int
    path: pathlib.Path
    loaded: object = None
    signature_defs: dict = dataclasses.field(default_factory=dict)
    error: str | None = None
    error_code: int = 0

    @property
    def available(self):
        return self.loaded is not None

    @property
    def signatures(self):
        """Signature name -> concrete function taking the inputs as keyword arguments."""
        return self.loaded.signatures if self.available else {}


def load_version(name, version, path):
    """Loads one SavedModel version directory; a failure is returned as a ModelVersion with its error."""
    try:
        saved_model = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
        meta_graph = next((m for m in saved_model.meta_graphs if "serve" in m.meta_info_def.tags), None)
        if meta_graph is None:
            raise ValueError(f"{path / 'saved_model.pb'} has no MetaGraph tagged 'serve'")
        loaded = tf.saved_model.load(str(path))
    except Exception as error:  # a broken version must not stop the others from being served
        code = error.error_code if isinstance(error, tf.errors.OpError) else UNKNOWN_ERROR_CODE
        return ModelVersion(name, version, path, error=f"{type(error).__name__}: {error}", error_code=code)
    return ModelVersion(name, version, path, loaded=loaded, signature_defs=dict(meta_graph.signature_def))


class ModelRepository:
    """The models under a base path, each with all its version directories loaded.

    Which models: those listed in `base`/models.config (TF Serving's model_config_list) if that file
    exists, else every subdirectory of `base` holding integer version directories. `refresh()` loads
    versions that appeared and drops versions that disappeared; readers see one consistent snapshot.
    A version that fails to load is kept with its error (and not retried until its directory goes away).

    Args:
        base: the model base path root, e.g. "saved_models".

    Example:
    >>> repository = ModelRepository("saved_models")
    >>> repository.refresh()
    >>> sorted(repository.snapshot()["demo"])
    [1]
    """

    def __init__(self, base):
        self.base = pathlib.Path(base)
        self._models = {}  # name -> {version: ModelVersion}; replaced whole, never changed in place
        self._refreshing = threading.Lock()
        self._last_problem = None

    def snapshot(self):
        """{model name: {version: ModelVersion}}, as of the last refresh. Do not modify."""
        return self._models

    def refresh(self):
        """Brings the loaded versions in step with the disk.

        Raises:
            ServeError: `base` is not a directory or models.config is invalid. (When polling, catch it and
                keep serving the previous snapshot.)
        """
        with self._refreshing:
            model_dirs = self._model_dirs()
            current = self._models
            updated = {}
            for name, model_dir in model_dirs.items():
                known = current.get(name, {})
                updated[name] = {}
                for version in versions(model_dir):
                    path = model_dir / str(version)
                    entry = known.get(version)
                    if entry is None or entry.path != path:
                        entry = load_version(name, version, path)
                        if entry.available:
                            log.info("loaded %s version %d from %s", name, version, path)
                        else:
                            log.error("could not load %s version %d from %s: %s", name, version, path, entry.error)
                    updated[name][version] = entry
            for name, known in current.items():
                for version in sorted(set(known) - set(updated.get(name, {}))):
                    log.info("unloaded %s version %d (its directory is gone)", name, version)
            self._models = {name: found for name, found in updated.items() if found}

    def _model_dirs(self):
        """{model name: model directory} from models.config, else from the subdirectories of `base`."""
        if not self.base.is_dir():
            raise ServeError(f"model base path {str(self.base)!r} is not a directory (export a model with "
                             f"`encoders-tf export --base {self.base}` first, or pass the right --base)")
        config_path = self.base / MODELS_CONFIG
        if config_path.is_file():
            try:
                config = read_models_config(config_path)
            except ValueError as error:
                raise ServeError(str(error)) from None
            return {entry.name: pathlib.Path(entry.base_path) for entry in config.model_config_list.config}
        return {path.name: path for path in sorted(self.base.iterdir()) if path.is_dir() and versions(path)}

    def poll(self, stop, poll_seconds):
        """Refreshes every `poll_seconds` until the threading.Event `stop` is set; never raises."""
        while not stop.wait(poll_seconds):
            try:
                self.refresh()
                self._last_problem = None
            except Exception as error:  # keep serving what is loaded; say so once, not every poll
                if str(error) != self._last_problem:
                    log.error("keeping the models loaded before: %s", error)
                    self._last_problem = str(error)
