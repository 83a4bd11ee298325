"""`encoders-tf train --strategy multi_worker`: two worker processes on 127.0.0.1, as users run them.

Each worker runs tests/multi_worker_train.py: the CLI itself, plus a dump of the worker's final weights and
per-step losses (the trainer writes only on the chief). Dropout is off there, so that two workers can be
compared step for step with one device.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from encoders_tf.cli import main
from encoders_tf.distribute import local_cluster, read_tf_config
from tests.conftest import write_sentiment_csv

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = pathlib.Path(__file__).with_name("multi_worker_train.py")
# 96 training rows in global batches of 16: 6 steps an epoch; a backup every 2 steps.
TRAIN = ["train", "--model", "transformer-tiny", "--epochs", "2", "--batch-size", "16", "--max-length", "16",
         "--vocabulary-size", "80", "--learning-rate", "3e-3", "--backup-every", "2"]
PEER_TIMEOUT = "10"  # $ENCODERS_TF_PEER_TIMEOUT: seconds a worker waits for its peers to start


class Worker:
    """One `encoders-tf train` process; its output goes to files (a full pipe would stall it)."""

    def __init__(self, tmp, name, argv, tf_config=None, **environ):
        self.weights, self.out, self.err = (tmp / f"{name}.npz", tmp / f"{name}.out", tmp / f"{name}.err")
        env = {**os.environ, "WEIGHTS_FILE": str(self.weights), "NO_DROPOUT": "1",
               "ENCODERS_TF_PEER_TIMEOUT": PEER_TIMEOUT, **environ}
        env.pop("TF_CONFIG", None)
        if tf_config:
            env["TF_CONFIG"] = tf_config
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.process = subprocess.Popen([sys.executable, str(SCRIPT), *argv], env=env, cwd=ROOT, stdout=out,
                                            stderr=err)

    def wait(self, timeout=300):
        return self.process.wait(timeout=timeout)

    def kill(self):  # SIGKILL: a TensorFlow worker ignores SIGTERM (a preemption notice to it)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stderr(self):
        return self.err.read_text()

    def result(self):
        """(weights, per-step losses) this worker dumped after training."""
        with np.load(self.weights) as arrays:
            weights = [arrays[f"arr_{index}"] for index in range(len(arrays.files) - 1)]
            return weights, arrays["step_loss"]


def start_workers(tmp, name, argv, cluster, outs, environs=({}, {})):
    """The two workers of `cluster` (from local_cluster); worker i writes to (or would write to) outs[i] and
    gets the extra environment variables environs[i]."""
    return [Worker(tmp, f"{name}{index}", [*argv, "--strategy", "multi_worker", "--out", str(outs[index])],
                   tf_config=cluster[index], **environs[index]) for index in range(2)]


def addresses(cluster):
    return json.loads(cluster[0])["cluster"]["worker"]


def max_difference(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_sentiment_csv(tmp_path_factory.mktemp("data") / "tiny.csv", rows=120)


@pytest.fixture
def workers():
    """Collects the started workers and kills what is left of them, whatever happens."""
    started = []
    yield started
    for worker in started:
        worker.kill()


@pytest.fixture(scope="module")
def uninterrupted(data, tmp_path_factory):
    """Two workers training together, each with its own --out; and one device on the same global batches."""
    tmp = tmp_path_factory.mktemp("uninterrupted")
    argv = [*TRAIN, "--dataset", str(data)]
    # Worker 1 finishes 12 s after worker 0 (the coordination service's leader), past a heartbeat.
    pair = start_workers(tmp, "worker", argv, local_cluster(2), [tmp / "worker0" / "run", tmp / "worker1" / "run"],
                         environs=({}, {"LINGER_SECONDS": "12"}))
    try:
        codes = [worker.wait() for worker in pair]
    finally:
        for worker in pair:
            worker.kill()
    assert codes == [0, 0], pair[0].stderr()[-3000:] + pair[1].stderr()[-3000:]
    single = Worker(tmp, "single", [*argv, "--strategy", "one_device", "--out", str(tmp / "single")])
    assert single.wait() == 0, single.stderr()[-3000:]
    return {"tmp": tmp, "workers": pair, "single": single}


@pytest.mark.slow  # two worker processes
def test_a_run_that_ends_well_ends_quietly_on_every_worker(uninterrupted):
    """No `StartAbort UNAVAILABLE: Failed to send RPC to coordination service` on a worker that outlives the
    leader: the workers leave in order (encoders_tf.distribute.leave_quietly)."""
    for worker in uninterrupted["workers"]:
        errors = [line for line in worker.stderr().splitlines()
                  if "StartAbort" in line or "Failed to send RPC" in line or "Traceback" in line]
        assert errors == [], errors


@pytest.mark.slow  # two worker processes
def test_two_workers_train_together_like_one_device(uninterrupted):
    tmp, (worker0, worker1) = uninterrupted["tmp"], uninterrupted["workers"]
    assert "2 replica(s), global batch 16, 8 per replica" in worker0.out.read_text()
    weights0, loss0 = worker0.result()
    weights1, loss1 = worker1.result()
    assert max_difference(weights0, weights1) == 0.0  # the same all-reduced updates on both
    np.testing.assert_array_equal(loss0, loss1)

    single_weights, single_loss = uninterrupted["single"].result()
    assert len(loss0) == len(single_loss) == 12
    np.testing.assert_allclose(loss0, single_loss, rtol=1e-5)
    assert max_difference(weights0, single_weights) <= 1e-5

    # Only worker 0 writes the run directory (and the backups, deleted at the end).
    assert sorted(path.name for path in (tmp / "worker0" / "run").iterdir()) == [
        "history.json", "metrics.json", "model.keras", "run.json", "vocab.txt"]
    assert not (tmp / "worker1").exists()
    history = json.loads((tmp / "worker0" / "run" / "history.json").read_text())
    single_history = json.loads((tmp / "single" / "history.json").read_text())
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(history[key], single_history[key], rtol=1e-5)


@pytest.mark.slow  # SIGKILL and resume
@pytest.mark.parametrize("killed", [1, 0], ids=["worker1", "chief"])
def test_a_killed_worker_stops_its_peer_and_both_resume_from_the_backup(uninterrupted, data, tmp_path, workers,
                                                                        killed):
    argv = [*TRAIN, "--dataset", str(data)]
    cluster = local_cluster(2)
    run = tmp_path / "run"  # one directory for both workers, as shared storage would be
    pause = tmp_path / "paused"
    # The worker to kill stops after step 4 of epoch 2 (backups exist: at epoch 1's end, and after step 2
    # of epoch 2) and is killed there, while the other waits for it in the next collective.
    environs = [{}, {}]
    environs[killed] = {"PAUSE_AT": "1:3", "PAUSE_FILE": str(pause)}
    pair = start_workers(tmp_path, "first", argv, cluster, [run, run], environs)
    workers.extend(pair)
    deadline = time.monotonic() + 240
    while not pause.exists():
        assert all(worker.process.poll() is None for worker in pair), pair[1 - killed].stderr()[-3000:]
        assert time.monotonic() < deadline, "the worker to kill never reached its step"
        time.sleep(0.2)
    assert (run / "backup" / "backup.npz").is_file()
    pair[killed].process.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    survivor = pair[1 - killed]
    code = survivor.wait(timeout=120)
    seconds = time.monotonic() - killed_at
    err = survivor.stderr()
    print(f"worker {1 - killed} exited {seconds:.1f} s after worker {killed} was killed")
    assert code == 1 and seconds <= 60
    assert f"encoders-tf: error: lost worker {killed} at {addresses(cluster)[killed]} while training" in err, (
        err[-3000:])
    assert "Traceback" not in err

    again = start_workers(tmp_path, "again", argv, cluster, [run, run])  # the same commands
    workers.extend(again)
    codes = [worker.wait() for worker in again]
    assert codes == [0, 0], again[0].stderr()[-3000:] + again[1].stderr()[-3000:]
    assert "resumed from the backup" in again[0].out.read_text()
    reference_weights, reference_loss = uninterrupted["workers"][0].result()
    for worker in again:
        weights, loss = worker.result()
        assert max_difference(weights, reference_weights) <= 1e-5
        # Resumed after step 2 of epoch 2: the last 4 steps, with the losses the uninterrupted run had.
        np.testing.assert_allclose(loss, reference_loss[-4:], rtol=1e-6)
    assert not (run / "backup").exists() and (run / "model.keras").is_file()


@pytest.mark.slow  # waits for the peer timeout
@pytest.mark.parametrize("index", [0, 1])
def test_a_peer_that_never_starts_fails_in_bounded_time(data, tmp_path, workers, index):
    cluster = local_cluster(2)
    started = time.monotonic()
    worker = Worker(tmp_path, "alone", [*TRAIN, "--dataset", str(data), "--strategy", "multi_worker",
                                        "--out", str(tmp_path / "run")], tf_config=cluster[index])
    workers.append(worker)
    code = worker.wait(timeout=120)
    seconds = time.monotonic() - started
    err = worker.stderr()
    print(f"worker {index} alone exited after {seconds:.1f} s")
    lines = [line for line in err.splitlines() if line.startswith("encoders-tf: error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err[-3000:]
    assert (f"waited {PEER_TIMEOUT} s for its peers; never reached: worker {1 - index} at "
            f"{addresses(cluster)[1 - index]}") in lines[0]
    assert seconds < 60
    assert not (tmp_path / "run").exists()


def test_local_cluster_gives_each_worker_its_task_on_free_ports():
    configs = local_cluster(3)
    parsed = [read_tf_config({"TF_CONFIG": config}) for config in configs]
    workers = parsed[0]["cluster"]["worker"]
    assert len(set(workers)) == 3 and all(address.startswith("127.0.0.1:") for address in workers)
    assert [config["task"] for config in parsed] == [{"type": "worker", "index": index} for index in range(3)]
    assert all(config["cluster"]["worker"] == workers for config in parsed)


@pytest.mark.parametrize("environ, message", [
    ({"TF_CONFIG": json.dumps({"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "ps", "index": 0}})},
     "TF_CONFIG task.type must be 'worker' or 'chief', got 'ps'"),
    ({"TF_CONFIG": json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                               "task": {"type": "worker", "index": 5}})},
     "task.index 5 is out of range for 2 workers (accepted: 0..1)"),
    ({"TF_CONFIG": local_cluster(2)[0], "ENCODERS_TF_PEER_TIMEOUT": "soon"},
     "the peer timeout must be a positive number of seconds, got 'soon'"),
])
def test_bad_cluster_settings_through_the_cli(data, monkeypatch, capsys, environ, message):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert main([*TRAIN, "--dataset", str(data), "--strategy", "multi_worker"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("encoders-tf: error: ") and message in err and "\n" not in err


@pytest.mark.slow  # a subprocess
def test_multi_worker_after_tensorflow_has_started_says_so():
    code = ("import tensorflow as tf; tf.constant(1.0) + 1; "
            "from encoders_tf.distribute import strategy_from_flag; strategy_from_flag('multi_worker')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "TF_CONFIG": local_cluster(2)[0]})
    assert result.returncode != 0
    assert "DistributeError: the multi_worker strategy must be created before TensorFlow runs anything" in (
        result.stderr)
