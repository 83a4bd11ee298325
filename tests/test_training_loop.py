"""encoders_tf.training.loop.fit: model.fit's results and callbacks, any strategy, exact resume after a kill."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from encoders_tf.training.backup import BACKUP_FILE, Backup, BackupError, read_position
from encoders_tf.cli import main
from encoders_tf.config import EncoderConfig
from encoders_tf.encoders import build_encoder
from encoders_tf.tasks import TextClassifier
from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
from encoders_tf.training.loop import fit
from tests.conftest import write_sentiment_csv

TESTS = pathlib.Path(__file__).resolve().parent
WORDS = [("good", 1), ("great", 1), ("bad", 0), ("dull", 0)]
TEXTS = [f"the film was {word} and the plot {verb}" for word, _ in WORDS for verb in ("moved", "sat")] * 8
LABELS = np.array([label for _, label in WORDS for _ in ("moved", "sat")] * 8)  # 64 examples
VOCABULARY = train_wordpiece_vocabulary(TEXTS, 60)
TOKENIZER = WordPieceTokenizer(VOCABULARY, max_length=16)


def _classifier(hidden_size=64):
    """A TextClassifier compiled for training, transformer-tiny with dropout on."""
    keras.utils.set_random_seed(0)
    config = EncoderConfig.preset("transformer-tiny", vocabulary_size=len(VOCABULARY), max_length=16,
                                  hidden_size=hidden_size)
    model = TextClassifier(WordPieceTokenizer(VOCABULARY, max_length=16), build_encoder(config), 2)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=model.default_loss(), metrics=model.default_metrics())
    return model


def _batches(seed=None):
    """4 global batches of 16 token ids (shuffled by `seed` when given)."""
    data = tf.data.Dataset.from_tensor_slices((TEXTS, LABELS))
    if seed is not None:
        data = data.shuffle(len(TEXTS), seed=seed)
    return data.batch(16).map(lambda text, label: ({"token_ids": TOKENIZER(text)["token_ids"],
                                                    "padding_mask": tf.cast(TOKENIZER(text)["padding_mask"], "int32")},
                                                   label))


def _max_difference(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def test_one_device_gives_the_weights_and_history_of_model_fit():
    keras_model = _classifier()
    # Unshuffled: fit creates and drops an iterator every epoch, so a reshuffling dataset gives it other orders.
    expected = keras_model.fit(_batches(), validation_data=_batches(), epochs=3, verbose=0,
                               shuffle=False)
    expected_weights = keras_model.get_weights()

    ours = _classifier()
    history = fit(ours, _batches(), validation_data=_batches(), epochs=3, verbose=0)
    assert set(history.history) == set(expected.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key, values in expected.history.items():
        np.testing.assert_allclose(history.history[key], values, atol=1e-6, err_msg=key)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert _max_difference(ours.get_weights(), expected_weights) <= 1e-6
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 4}


@pytest.mark.slow  # mirrored training
def test_mirrored_over_two_cpus_gives_the_single_device_weights():
    result = subprocess.run([sys.executable, str(TESTS / "mirrored_vs_single.py"), "transformer", "loop"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["max_weight_change"] > 1e-3  # the weights did move: the comparison means something
    assert report["max_weight_difference"] <= 1e-5
    assert report["max_history_difference"] <= 1e-5  # loss and val_loss of every epoch


class Recorder(keras.callbacks.Callback):
    """Records every train and test hook called, with the log keys passed."""

    def __init__(self):
        super().__init__()
        self.calls = []


def _recording(hook, indexed):
    if indexed:
        return lambda self, index, logs=None: self.calls.append((hook, index, tuple(sorted(logs or {}))))
    return lambda self, logs=None: self.calls.append((hook, tuple(sorted(logs or {}))))


for _hook in ("train", "test"):
    setattr(Recorder, f"on_{_hook}_begin", _recording(f"on_{_hook}_begin", False))
    setattr(Recorder, f"on_{_hook}_end", _recording(f"on_{_hook}_end", False))
for _hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
              "on_test_batch_begin", "on_test_batch_end"):
    setattr(Recorder, _hook, _recording(_hook, True))


def test_callbacks_see_the_hooks_model_fit_calls():
    keras_model = _classifier()
    expected = Recorder()
    keras_model.fit(_batches(), validation_data=_batches(), epochs=2, verbose=0,
                    shuffle=False, callbacks=[expected])
    ours = _classifier()
    recorder = Recorder()
    fit(ours, _batches(), validation_data=_batches(), epochs=2, verbose=0,
        callbacks=[recorder])
    assert recorder.calls == expected.calls
    assert ("on_train_batch_end", 3, ("accuracy", "loss")) in recorder.calls
    assert ("on_epoch_end", 1, ("accuracy", "loss", "val_accuracy", "val_loss")) in recorder.calls


def test_early_stopping_stops_and_the_progress_bar_prints(capsys):
    model = _classifier()
    stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=100.0, patience=1)  # never improves enough
    history = fit(model, _batches(), validation_data=_batches(), epochs=5, callbacks=[stop])
    assert len(history.history["loss"]) == 2 and stop.stopped_epoch == 1 and model.stop_training
    out = capsys.readouterr().out
    assert "Epoch 1/5" in out and "Epoch 2/5" in out and "Epoch 3/5" not in out
    assert "4/4" in out and "val_loss" in out


class Crash(keras.callbacks.Callback):
    """Raises after `steps` training steps, or at the end of epoch `epoch`: a run that died there."""

    def __init__(self, steps=None, epoch=None):
        super().__init__()
        self.steps, self.epoch = steps, epoch

    def on_train_batch_end(self, batch, logs=None):
        self.steps = self.steps and self.steps - 1
        if self.steps == 0:
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.slow  # crash and resume
@pytest.mark.parametrize("crash, step", [(Crash(steps=7), 2), (Crash(epoch=1), 4)], ids=["mid-epoch", "epoch-end"])
def test_resume_after_a_crash_ignores_a_half_written_save(crash, step, tmp_path, capsys):
    def per_epoch():
        return lambda epoch: _batches(seed=epoch)

    uninterrupted = _classifier()
    expected = fit(uninterrupted, per_epoch(), validation_data=_batches(), epochs=3,
                   verbose=0)

    backup_dir = tmp_path / "backup"
    model = _classifier()
    with pytest.raises(KeyboardInterrupt):  # in epoch 2 (index 1) of 4 steps, backed up every 2
        fit(model, per_epoch(), validation_data=_batches(), epochs=3, verbose=0,
            backup_dir=backup_dir, backup_every=2, callbacks=[crash])
    assert {key: read_position(backup_dir)[key] for key in ("epoch", "step")} == {"epoch": 1, "step": step}
    (backup_dir / f".{BACKUP_FILE}.x1y2.tmp").write_bytes(b"PK\x03\x04 a save killed half-way")
    capsys.readouterr()

    model = _classifier()
    history = fit(model, per_epoch(), validation_data=_batches(), epochs=3, verbose=0,
                  backup_dir=backup_dir, backup_every=2)
    assert f"resumed from the backup in {backup_dir}: epoch 2/3, {step} step(s) of it already done" in \
        capsys.readouterr().out
    assert _max_difference(model.get_weights(), uninterrupted.get_weights()) <= 1e-6
    for key, values in expected.history.items():  # epoch 1 from the backup, epoch 2's metrics continued
        np.testing.assert_allclose(history.history[key], values, atol=1e-6, err_msg=key)
    assert not backup_dir.exists()  # deleted once training finished


@pytest.mark.slow  # crash and resume
def test_early_stopping_keeps_the_best_epoch_seen_before_a_crash(tmp_path):
    def stopper():  # the loss falls, so in mode "max" the first epoch stays the best: its weights are kept
        return keras.callbacks.EarlyStopping(monitor="loss", mode="max", patience=5, restore_best_weights=True)

    uninterrupted, expected = _classifier(), stopper()
    fit(uninterrupted, _batches(), epochs=3, verbose=0, callbacks=[expected])
    assert expected.best_epoch == 0

    backup_dir = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):  # in epoch 2, after the backup of its step 2
        fit(_classifier(), _batches(), epochs=3, verbose=0, backup_dir=backup_dir, backup_every=2,
            callbacks=[stopper(), Crash(steps=7)])
    model, resumed = _classifier(), stopper()
    fit(model, _batches(), epochs=3, verbose=0, backup_dir=backup_dir, backup_every=2, callbacks=[resumed])
    assert (resumed.best_epoch, resumed.wait, resumed.best) == (0, 2, pytest.approx(expected.best, abs=1e-6))
    assert _max_difference(model.get_weights(), uninterrupted.get_weights()) <= 1e-6


class CrashAtTheEnd(keras.callbacks.Callback):
    """Raises as training ends: a run killed after its last backup, before it ended."""

    def on_train_end(self, logs=None):
        raise KeyboardInterrupt


@pytest.mark.slow  # crash and resume
def test_a_run_that_early_stopping_ended_trains_no_more_on_resume(tmp_path):
    def stopper():  # never improves enough: stops after epoch 2 of 5, keeping epoch 1's weights
        return keras.callbacks.EarlyStopping(monitor="loss", min_delta=100.0, patience=1, restore_best_weights=True)

    uninterrupted = _classifier()
    fit(uninterrupted, _batches(), epochs=5, verbose=0, callbacks=[stopper()])

    backup_dir = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):  # killed after the last epoch's backup, before training ended
        fit(_classifier(), _batches(), epochs=5, verbose=0, backup_dir=backup_dir, callbacks=[CrashAtTheEnd(),
                                                                                                stopper()])
    assert read_position(backup_dir)["epoch"] == 2
    model = _classifier()
    history = fit(model, _batches(), epochs=5, verbose=0, backup_dir=backup_dir, callbacks=[stopper()])
    assert len(history.history["loss"]) == 2 and not backup_dir.exists()
    assert _max_difference(model.get_weights(), uninterrupted.get_weights()) <= 1e-6


def test_only_a_half_written_save_means_a_fresh_start(tmp_path, capsys):
    backup_dir = tmp_path / "backup"
    backup_dir.mkdir()
    (backup_dir / f".{BACKUP_FILE}.x1y2.tmp").write_bytes(b"PK\x03\x04 a save killed half-way")
    model = _classifier()
    history = fit(model, _batches(), epochs=1, verbose=0, backup_dir=backup_dir)
    assert "resumed" not in capsys.readouterr().out and len(history.history["loss"]) == 1


@pytest.mark.slow  # kill and resume
def test_the_backup_counts_the_training_time_of_every_killed_run(tmp_path):
    backup_dir = tmp_path / "backup"
    model = _classifier()
    with pytest.raises(KeyboardInterrupt):
        fit(model, _batches(), epochs=3, verbose=0, backup_dir=backup_dir, backup_every=2,
            callbacks=[Crash(steps=3)])
    assert 0 < read_position(backup_dir)["seconds"] < 60
    _set_backup_seconds(backup_dir, 1000.0)

    model = _classifier()
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        fit(model, _batches(), epochs=3, verbose=0, backup_dir=backup_dir, backup_every=2,
            callbacks=[Crash(steps=3)])
    position = read_position(backup_dir)
    assert (position["epoch"], position["step"]) == (1, 0)
    assert 1000 < position["seconds"] < 1000 + time.perf_counter() - started


def test_a_backup_of_another_model_is_refused(tmp_path):
    other = _classifier(hidden_size=32)
    fit(other, _batches().take(1), epochs=1, verbose=0)
    Backup(tmp_path, other).save(epoch=0, step=1, history={})
    model = _classifier()
    with pytest.raises(BackupError, match=r"does not fit this model: .* \[\d+, 32\] there, .* \[\d+, 64\] here; "
                                          r"delete .* to train from the start"):
        fit(model, _batches(), epochs=1, verbose=0, backup_dir=tmp_path)
    Backup(tmp_path, model, identity={"learning_rate": 0.001, "seed": 0}).save(epoch=0, step=1, history={})
    with pytest.raises(BackupError, match=r"other settings \(learning_rate: 0.001 there, 0.01 here\); run the "
                                          r"same command again to resume, or delete"):
        fit(model, _batches(), epochs=1, verbose=0, backup_dir=tmp_path,
            backup_identity={"learning_rate": 0.01, "seed": 0})


def test_backup_every_must_be_a_positive_integer(capsys):
    assert main(["train", "--backup-every", "0"]) == 2
    assert "--backup-every: must be a positive integer, got '0'" in capsys.readouterr().err


def _train_command(data, out):
    return [sys.executable, "-m", "encoders_tf.cli", "train", "--model", "transformer-tiny", "--dataset", str(data),
            "--epochs", "3", "--batch-size", "16", "--max-length", "16", "--vocabulary-size", "80",
            "--learning-rate", "3e-3", "--backup-every", "2", "--out", str(out)]


def _kill_mid_epoch(process, backup_dir, timeout=300):
    """Freezes the run once a backup in the middle of epoch 2 or later exists, then SIGKILLs it; returns the
    backup's position."""
    def mid_epoch():
        position = read_position(backup_dir)
        return position if position and position["epoch"] >= 1 and position["step"] > 0 else None

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if mid_epoch():
            process.send_signal(signal.SIGSTOP)  # frozen: the backup cannot move on
            position = mid_epoch()
            if position:
                process.kill()
                process.wait()
                return position
            process.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError(f"no mid-epoch backup appeared (exit code {process.poll()})")


def _set_backup_seconds(backup_dir, seconds):
    """Rewrites the training time recorded in the backup in `backup_dir`."""
    path = backup_dir / BACKUP_FILE
    with np.load(path, allow_pickle=False) as saved:
        arrays = dict(saved)
    position = json.loads(str(arrays["position"]))
    arrays["position"] = np.array(json.dumps({**position, "seconds": seconds}))
    np.savez(path, **arrays)


@pytest.mark.slow  # SIGKILL and resume
def test_train_killed_mid_epoch_resumes_to_the_uninterrupted_weights(tmp_path):
    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=400)  # 320 for training: 20 steps an epoch
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    uninterrupted = subprocess.run(_train_command(data, tmp_path / "uninterrupted"), capture_output=True,
                                   text=True, timeout=600, env=environment)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]

    run = tmp_path / "run"
    with open(tmp_path / "killed.log", "w") as log:
        process = subprocess.Popen(_train_command(data, run), stdout=log, stderr=subprocess.STDOUT, env=environment)
        position = _kill_mid_epoch(process, run / "backup")
    assert process.returncode == -signal.SIGKILL and not (run / "model.keras").exists()
    assert 0 < position["seconds"] < 600
    _set_backup_seconds(run / "backup", 10_000.0)  # as if the killed process had trained for hours

    started = time.monotonic()
    resumed = subprocess.run(_train_command(data, run), capture_output=True, text=True, timeout=600,
                             env=environment)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    train_seconds = json.loads((run / "run.json").read_text())["train_seconds"]
    assert 10_000 < train_seconds < 10_000 + time.monotonic() - started  # the killed part's time counts
    assert len(position["history"]["loss"]) == position["epoch"]  # the finished epochs' logs are in the backup
    assert (f"resumed from the backup in {run / 'backup'}: epoch {position['epoch'] + 1}/3, "
            f"{position['step']} step(s) of it already done") in resumed.stdout
    assert not (run / "backup").exists()

    import encoders_tf  # noqa: F401  registers the layers for loading

    expected = keras.models.load_model(tmp_path / "uninterrupted" / "model.keras")
    model = keras.models.load_model(run / "model.keras")
    assert _max_difference(model.get_weights(), expected.get_weights()) <= 1e-5
    history = json.loads((run / "history.json").read_text())
    expected_history = json.loads((tmp_path / "uninterrupted" / "history.json").read_text())
    for key, values in expected_history.items():
        np.testing.assert_allclose(history[key], values, atol=1e-5, err_msg=key)


def test_each_epochs_batches_are_tokenized_by_one_function_traced_once():
    """Every epoch builds a new dataset: its texts are tokenized by the model's one traced function (tracing it
    for each epoch's dataset cost 0.1 s, and AutoGraph's conversion of it up to a minute late in a run), and the
    batches equal the model's own features of the same texts."""
    from encoders_tf.data import Split, to_tf_dataset
    from encoders_tf.tasks.task import _TOKENIZE_FUNCTIONS

    vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
    encoder = build_encoder(EncoderConfig.preset("lstm", vocabulary_size=len(vocabulary)))
    model = TextClassifier(WordPieceTokenizer(vocabulary, max_length=16), encoder, num_classes=2)
    split = Split(["a lovely film", "dull", "a film, a lovely dull film", "film"], [1, 0, 1, 0])
    for seed in range(3):
        texts = list(to_tf_dataset(split, 3, shuffle=True, seed=seed))
        tokenized = model.tokenize_dataset(to_tf_dataset(split, 3, shuffle=True, seed=seed))
        for (text, labels), (features, tokenized_labels) in zip(texts, tokenized):
            expected = model.features(text)
            assert sorted(features) == sorted(expected)
            for name, value in features.items():
                np.testing.assert_array_equal(value.numpy(), expected[name].numpy())
            np.testing.assert_array_equal(tokenized_labels.numpy(), labels.numpy())
    assert _TOKENIZE_FUNCTIONS[model].experimental_get_tracing_count() == 1
