"""Keras' EarlyStopping through a preemption backup: a resumed run keeps the best epoch it saw before the kill.

`EarlyStopping.on_train_begin` forgets the best epoch, its weights and the patience count; without this, a run
killed after its best epoch and resumed would end on a worse epoch's weights.
"""

from __future__ import annotations

import keras

from encoders_tf.training.backup import BackupError

_COUNTERS = ("wait", "stopped_epoch", "best_epoch")


def _stoppers(callbacks):
    return [callback for callback in callbacks if isinstance(callback, keras.callbacks.EarlyStopping)]


def _number(value):
    return None if value is None else float(value)  # None until the first epoch's end


def early_stopping_state(callbacks):
    """(records, arrays) of the EarlyStopping callbacks among `callbacks`: per callback, a JSON-able record
    of its counters and best value, and its best weights (in order, all callbacks' one after the other)."""
    records, arrays = [], []
    for stopper in _stoppers(callbacks):
        weights = list(stopper.best_weights or [])
        records.append({**{name: int(getattr(stopper, name)) for name in _COUNTERS}, "best": _number(stopper.best),
                        "weights": len(weights) if stopper.best_weights is not None else None})
        arrays += weights
    return records, arrays


def restore_early_stopping(callbacks, records, arrays):
    """Gives the EarlyStopping callbacks among `callbacks` the state `early_stopping_state` saved (after
    `on_train_begin`, which resets it)."""
    stoppers = _stoppers(callbacks)
    if len(stoppers) != len(records):
        raise BackupError(f"the backup was written by a run with {len(records)} EarlyStopping callback(s), this run "
                          f"has {len(stoppers)}: run the same command again to resume")
    arrays = list(arrays)
    for stopper, record in zip(stoppers, records):
        for name in _COUNTERS:
            setattr(stopper, name, record[name])
        stopper.best = record["best"]
        if record["weights"] is not None:
            stopper.best_weights, arrays = arrays[:record["weights"]], arrays[record["weights"]:]
