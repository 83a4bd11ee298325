"""`fit` for every tf.distribute strategy, multi-worker included, resumable mid-epoch after a preemption.

Keras 3's `Model.fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585) and its
BackupAndRestore resumes only at an epoch start. This loop runs Keras' own `train_step`/`test_step` inside
`strategy.run`, with what users get from fit: callbacks, the progress bar, metrics and a History.
"""

from __future__ import annotations

import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from encoders_tf.training.backup import Backup, BackupError
from encoders_tf.training.early_stopping_state import early_stopping_state, restore_early_stopping
from encoders_tf.distribute import is_chief


def fit(model, train, *, epochs, validation_data=None, callbacks=(), verbose="auto", backup_dir=None,
        backup_every=None, backup_identity=None, strategy=None):
    """Trains `model` like `model.fit`, on one device, several, or several workers.

    Every global batch is split over the replicas, so a run gives the single-device result for the same
    batches. With `backup_dir`, the run's whole state is saved every `backup_every` steps and at every
    epoch end; a run started again with the same arguments resumes exactly where the backup was taken
    (same weights, optimizer state, dropout seeds, metrics and data order), and the backup is deleted when
    training finishes. EarlyStopping callbacks continue with their state (best epoch, its weights, patience
    count), and a run a callback had stopped trains no more; other callbacks' own state starts afresh.

    Args:
        model: a compiled Keras model, built under `strategy.scope()` when there is a strategy.
        train: a finite tf.data.Dataset of global batches `(inputs, labels)`, or a function from the epoch
            (0-based) to that epoch's dataset; resuming mid-epoch needs the same batches in the same order
            again (e.g. shuffle with seed `seed + epoch`).
        epochs: the number of epochs.
        validation_data: a dataset of `(inputs, labels)` batches evaluated after every epoch (`val_*` logs);
            held in memory after the first pass (its texts are tokenized once, not every epoch).
        callbacks: Keras callbacks; a History and (unless `verbose=0`) a progress bar are added.
        verbose: "auto", 0, 1 or 2, as for `model.fit`; only the chief worker prints.
        backup_dir: a directory for the preemption backup, seen by every worker; None for no backups.
        backup_every: also back up every this many steps (None: only at epoch ends).
        backup_identity: a JSON-able dict naming the run (e.g. its options); a backup written by a run with a
            different one is refused rather than resumed.
        strategy: the model's strategy (default: `model.distribute_strategy`).

    Returns:
        The keras.callbacks.History, as `model.fit` returns it (on resume, including the epochs finished
        before).

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("adam", "mse")
    >>> batches = tf.data.Dataset.from_tensor_slices((np.ones((8, 2)), np.ones(8))).batch(4)
    >>> history = fit(model, lambda epoch: batches.shuffle(2, seed=epoch), epochs=2, validation_data=batches,
    ...               verbose=0, backup_dir="runs/x/backup", backup_every=1)
    >>> sorted(history.history), len(history.history["loss"])
    (['loss', 'val_loss'], 2)
    """
    strategy = strategy or model.distribute_strategy
    verbose = verbose if is_chief(strategy) else 0  # one worker reports; the callbacks run on all
    epoch_data = _last_one_kept(train if callable(train) else (lambda epoch: train))
    with strategy.scope():
        # What fit does before its first step: create the optimizer and metric variables, outside any
        # replica. From the batch spec: Keras' own build from a distributed batch is what fails on workers.
        model._symbolic_build(data_batch=epoch_data(0).element_spec)
    train_function = _step_function(model, strategy, model.train_step)
    if validation_data is not None:
        test_function = _step_function(model, strategy, model.test_step)
        validation = _distribute(strategy, validation_data.cache())
        validation_steps = _steps(validation_data, "validation_data")

    backup = Backup(backup_dir, model, write=is_chief(strategy), identity=backup_identity) if backup_dir else None
    position, values = backup.read() if backup else (None, None)
    _check_same_position(strategy, position)  # before assigning: that takes every worker
    if position:
        with strategy.scope():
            backup.assign(values)
    first_epoch, first_step = (position["epoch"], position["step"]) if position else (0, 0)
    seconds_before, started = (position.get("seconds", 0.0) if position else 0.0), time.perf_counter()

    given_callbacks = list(callbacks)

    def save(epoch, step):
        state, state_arrays = early_stopping_state(given_callbacks)
        backup.save(epoch, step, model.history.history, seconds=seconds_before + time.perf_counter() - started,
                    state={"early_stopping": state, "stop_training": bool(model.stop_training)},
                    state_arrays=state_arrays)

    if position and is_chief(strategy):
        print(f"resumed from the backup in {backup_dir}: epoch {first_epoch + 1}/{epochs}, "
              f"{first_step} step(s) of it already done", flush=True)

    callbacks = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                                             verbose=verbose, epochs=epochs, steps=_steps(epoch_data(first_epoch)))
    model.stop_training = False
    callbacks.on_train_begin()
    if position:  # the History of the epochs finished before the preemption
        model.history.history = {name: list(values) for name, values in position["history"].items()}
        model.history.epoch = list(range(first_epoch))
        if position.get("state") is not None:  # None in backups written before callbacks' state was kept
            restore_early_stopping(given_callbacks, position["state"]["early_stopping"], position["state_arrays"])
    # A run killed after a callback stopped it (its epoch's backup written, training not yet ended) trains no more.
    stopped = bool(position and first_step == 0 and (position.get("state") or {}).get("stop_training"))
    epoch_logs = None
    for epoch in range(epochs if stopped else first_epoch, epochs):
        step = first_step if epoch == first_epoch else 0
        if step == 0:  # else the metrics continue from the backup
            model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        dataset = epoch_data(epoch)
        steps = _steps(dataset)
        iterator = iter(_distribute(strategy, dataset.skip(step)))
        logs, since_backup = {}, 0
        for step, logs in _run_batches(train_function, iterator, step, steps, callbacks.on_train_batch_begin,
                                       callbacks.on_train_batch_end):
            since_backup += 1
            if backup and backup_every and since_backup >= backup_every:
                save(epoch, step)
                since_backup = 0
            if model.stop_training:
                break
        epoch_logs = _metrics_or(model, logs)
        if validation_data is not None:
            logs = _evaluate(model, test_function, validation, validation_steps, callbacks)
            epoch_logs.update({f"val_{name}": value for name, value in logs.items()})
        callbacks.on_epoch_end(epoch, epoch_logs)
        if backup:
            save(epoch + 1, 0)
        if model.stop_training:
            break
    if epochs > 0 and isinstance(model.optimizer, keras.optimizers.Optimizer):
        model.optimizer.finalize_variable_values(model.trainable_weights)  # as fit does (e.g. EMA weights)
    callbacks.on_train_end(logs=epoch_logs)
    if backup:
        backup.delete()
    return model.history


def _step_function(model, strategy, step):
    """A function from a distributed iterator to the logs of one step on its next global batch.

    Each replica runs `step` (Keras' train_step or test_step) on its part of the batch; the logs, one
    scalar per replica, are averaged over all replicas (every worker's).
    """
    jit_compile = model.jit_compile
    if jit_compile and strategy.num_replicas_in_sync > 1:
        # The step sums gradients over replicas inside the optimizer: XLA cannot compile those collectives
        # (seen on CPUs, mirrored and multi-worker), so only a one-replica step is compiled.
        warnings.warn(f"jit_compile (XLA) is ignored with {strategy.num_replicas_in_sync} replicas; training "
                      f"without XLA", stacklevel=3)
        jit_compile = False
    if model.run_eagerly:
        replica_step = step
    else:  # XLA compiles what the replica does; reading the iterator and the reduction stay outside
        replica_step = tf.function(step, jit_compile=jit_compile, reduce_retracing=True)

    def one_step(iterator):
        outputs = strategy.run(replica_step, args=(next(iterator),))
        return tf.nest.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), outputs)

    return one_step if model.run_eagerly else tf.function(one_step, reduce_retracing=True)


def _last_one_kept(epoch_data):
    """`epoch_data`, called once per epoch however often it is asked (datasets can be costly to build)."""
    kept = {}

    def dataset(epoch):
        if epoch not in kept:
            kept.clear()
            kept[epoch] = epoch_data(epoch)
        return kept[epoch]

    return dataset


def _distribute(strategy, dataset):
    """`dataset` of global batches -> each batch split over the replicas, in order.

    Sharded by data, never by file: worker i takes the i-th part of every global batch, so several workers
    see exactly the batches one device would. One replica (off TPU) reads the dataset as it is.
    """
    options = tf.data.Options()
    # Without tf.data's autotuning thread: deleting an iterator waited for it, 0.3 to 2 s at the end of an epoch
    # or validation pass (a fifth of a small model's epoch); a parallel map and a prefetch need no tuning.
    options.autotune.enabled = False
    if strategy.num_replicas_in_sync == 1 and not isinstance(strategy, tf.distribute.TPUStrategy):
        return dataset.with_options(options)  # a distributed iterator costs as much again to delete
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


def _steps(dataset, what="the training dataset"):
    """The number of batches of `dataset`, or inf when tf.data cannot tell (then the loop stops at its end)."""
    count = int(dataset.cardinality())
    if count == tf.data.INFINITE_CARDINALITY:
        raise ValueError(f"{what} is infinite; give it a finite number of batches "
                         f"(e.g. dataset.take(steps_per_epoch))")
    return count if count >= 0 else np.inf


def _run_batches(step_function, iterator, step, steps, on_batch_begin, on_batch_end):
    """Runs `step_function` on the iterator's next batches, from batch `step` until batch `steps` or the data's
    end, between the batch callbacks; yields (batches done, that step's logs) after each."""
    while step < steps:
        on_batch_begin(step)
        try:
            logs = step_function(iterator)
        except (StopIteration, tf.errors.OutOfRangeError):  # the dataset was shorter than it said
            return
        on_batch_end(step, logs)
        step += 1
        yield step, logs


def _evaluate(model, test_function, dataset, steps, callbacks):
    """The validation logs of one pass over a distributed dataset, with the on_test_* callbacks."""
    callbacks.on_test_begin()
    model.reset_metrics()
    logs = {}
    for _, logs in _run_batches(test_function, iter(dataset), 0, steps, callbacks.on_test_batch_begin,
                                callbacks.on_test_batch_end):
        pass
    logs = _metrics_or(model, logs)
    callbacks.on_test_end(logs)
    return logs


def _metrics_or(model, logs):
    """The model's metric results over everything seen (as fit reports an epoch), else the last step's logs.

    Read outside the replicas, a metric sums its variables over all of them (on every worker: a collective
    that all take part in).
    """
    results = model.get_metrics_result()
    chosen = results if not logs or set(results) == set(logs) else logs  # no logs: resumed at the epoch's end
    return {name: _python(value) for name, value in chosen.items()}


def _python(value):
    array = np.asarray(value)
    return array.item() if array.ndim == 0 else array.tolist()


def _check_same_position(strategy, position):
    """Under MultiWorkerMirroredStrategy, every worker must resume from the same backup (a directory they all
    see): otherwise they would train different weights, or wait for each other forever."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    mine = [position["epoch"], position["step"]] if position else [-1, -1]
    values = strategy.experimental_distribute_values_from_function(lambda _: tf.constant([mine], tf.int64))
    positions = strategy.gather(values, axis=0).numpy()
    if (positions != positions[0]).any():
        seen = sorted({"none" if epoch < 0 else f"epoch {epoch + 1} step {step}" for epoch, step in positions})
        raise BackupError(f"the workers found different backups ({', '.join(seen)}): the backup directory "
                          f"must be one that every worker sees (shared storage)")
