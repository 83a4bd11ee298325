"""Preemption backups: a training run's whole state and position in one file, replaced atomically."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile

import numpy as np

from encoders_tf.errors import InputError

BACKUP_FILE = "backup.npz"
_POSITION = "position"  # the key of the JSON record inside the .npz; variables are "0", "1", ...


class BackupError(InputError):
    """A backup that does not fit the model being trained: says what differs and how to start over."""


def training_variables(model):
    """Every variable a resumed run needs, in a fixed order, each once.

    The model's weights and its SeedGenerator states (so dropout continues with the same masks), the
    optimizer's variables (step counter, moments, loss scale) and the metrics' variables (so epoch
    metrics continue).
    """
    variables, seen = [], set()
    optimizer = model.optimizer.variables if model.optimizer is not None else []
    for variable in [*model.variables, *optimizer, *model.metrics_variables]:
        if id(variable) not in seen:
            seen.add(id(variable))
            variables.append(variable)
    return variables


def read_position(directory):
    """The position {"epoch", "step", "history", "seconds"} of the backup in `directory`, or None when there
    is none.

    `epoch` is the epoch to continue (0-based), `step` the number of its batches already trained, `history`
    the logs of the finished epochs ({name: [value per epoch]}), `seconds` the time spent training so far,
    over every process the run was killed in.
    """
    path = pathlib.Path(directory) / BACKUP_FILE
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as arrays:
        position = json.loads(str(arrays[_POSITION]))
    del position["variables"]
    return position


class Backup:
    """Saves and restores a run's state (see `training_variables`) and its position in `directory`.

    A save writes a temporary file beside `backup.npz`, flushes it to disk and renames it over the old one,
    so a process killed at any moment leaves either the previous backup or the new one, never a torn file;
    leftover temporary files are never read.

    Under MultiWorkerMirroredStrategy, reading a metric variable (synchronized on read) outside a replica
    is an all-reduce that every worker must join: every worker calls `save` at the same point, and only the
    one with `write=True` (the chief) writes.

    Args:
        directory: where `backup.npz` lives; created when first saved.
        model: a compiled, built model (optimizer and metric variables created).
        write: whether this process writes (False on non-chief workers).
        identity: a JSON-able dict naming the run (e.g. its options): a backup of another run is refused.

    Example:
    >>> import keras
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("adam", "mse")
    >>> history = model.fit(np.ones((4, 2)), np.ones(4), verbose=0)  # creates the optimizer's variables
    >>> backup = Backup("runs/x/backup", model)
    >>> backup.read()  # no backup yet
    (None, None)
    >>> backup.save(epoch=1, step=60, history=history.history, seconds=93.5)
    >>> position, values = backup.read()
    >>> position["epoch"], position["step"], len(values) == len(backup.variables)
    (1, 60, True)
    >>> backup.assign(values)
    >>> backup.delete()  # the run finished
    >>> backup.read()
    (None, None)
    """

    def __init__(self, directory, model, write=True, identity=None):
        self.directory = pathlib.Path(directory)
        self.variables = training_variables(model)
        self.write = write
        self.identity = json.loads(json.dumps(identity or {}))  # as it reads back from the file

    def save(self, epoch, step, history, seconds=0.0, state=None, state_arrays=()):
        """Writes the variables and the position; `state` (JSON-able) and `state_arrays` are whatever else
        the run needs back (e.g. callbacks' state), returned by `read` as position["state"] and
        position["state_arrays"]."""
        values = [np.asarray(variable.numpy()) for variable in self.variables]  # on every worker
        if not self.write:
            return
        position = {"epoch": epoch, "step": step, "history": history, "seconds": seconds, "identity": self.identity,
                    "state": state, "state_arrays": len(state_arrays),
                    "variables": [[v.path, list(a.shape), str(a.dtype)] for v, a in zip(self.variables, values)]}
        arrays = {str(index): value for index, value in enumerate(values)}
        arrays.update({f"state{index}": np.asarray(value) for index, value in enumerate(state_arrays)})
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=f".{BACKUP_FILE}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, **arrays, **{_POSITION: np.array(json.dumps(position))})
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.directory / BACKUP_FILE)
        except BaseException:
            pathlib.Path(temporary).unlink(missing_ok=True)
            raise
        for leftover in self.directory.glob(f".{BACKUP_FILE}.*.tmp"):  # of saves killed half-way
            leftover.unlink(missing_ok=True)

    def read(self):
        """(position, values) of the backup, checked against the variables; (None, None) when there is none.

        Only reads the file: under several workers, they can compare positions before `assign`, whose
        writes to metric variables are collectives.
        """
        path = self.directory / BACKUP_FILE
        if not path.is_file():
            return None, None
        with np.load(path, allow_pickle=False) as arrays:
            position = json.loads(str(arrays[_POSITION]))
            saved = position.pop("variables")
            identity = position.pop("identity", {})
            if identity != self.identity:
                changed = ", ".join(f"{key}: {identity.get(key)!r} there, {self.identity.get(key)!r} here"
                                    for key in sorted({*identity, *self.identity})
                                    if identity.get(key) != self.identity.get(key))
                raise BackupError(f"the backup {path} is of a run with other settings ({changed}); run the same "
                                  f"command again to resume, or delete {self.directory} to train from the start")
            if len(saved) != len(self.variables):
                raise BackupError(f"the backup {path} holds {len(saved)} variables, this model has "
                                  f"{len(self.variables)}: it was written by another model; delete "
                                  f"{self.directory} to train from the start")
            values = [arrays[str(index)] for index in range(len(saved))]
            position["state_arrays"] = [arrays[f"state{index}"] for index in range(position.get("state_arrays", 0))]
        for variable, value, (name, _, _) in zip(self.variables, values, saved):
            if tuple(value.shape) != tuple(variable.shape) or value.dtype != np.dtype(variable.dtype):
                raise BackupError(f"the backup {path} does not fit this model: {name} is {value.dtype} "
                                  f"{list(value.shape)} there, {variable.path} is {variable.dtype} "
                                  f"{list(variable.shape)} here; delete {self.directory} to train from the start")
        return position, values

    def assign(self, values):
        """Sets the variables to `values` from `read`, in cross-replica context (under `strategy.scope()`).

        A metric variable summed over replicas gets value / replicas on each, so its sum (what the metric
        reads) is the saved value.
        """
        for variable, value in zip(self.variables, values):
            variable.assign(value)

    def delete(self):
        if self.write:
            shutil.rmtree(self.directory, ignore_errors=True)
