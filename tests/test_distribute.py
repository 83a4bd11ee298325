"""Strategies from the --strategy flag, and clear errors for what cannot be set up."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from encoders_tf.cli import main
from encoders_tf.distribute import DistributeError, per_replica_batch, read_tf_config, strategy_from_flag
from tests.conftest import write_sentiment_csv


def test_auto_on_a_cpu_machine_is_one_device():
    strategy = strategy_from_flag("auto")
    assert isinstance(strategy, tf.distribute.OneDeviceStrategy) and strategy.num_replicas_in_sync == 1
    assert per_replica_batch(64, strategy) == 64


def test_unknown_strategy_names_the_accepted_ones(capsys):
    with pytest.raises(DistributeError, match=r"unknown strategy 'horovod'; accepted: auto, default, one_device"):
        strategy_from_flag("horovod")
    assert main(["train", "--strategy", "horovod"]) == 2
    assert "horovod" in capsys.readouterr().err


@pytest.mark.parametrize("tf_config, message", [
    (None, r"multi_worker needs \$TF_CONFIG"),
    ("{not json", r"TF_CONFIG is not valid JSON"),
    (json.dumps({"cluster": {}}), r"no cluster.worker list"),
    (json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 2}}),
     r"task.index 2 is out of range for 2 workers \(accepted: 0..1\)"),
])
def test_malformed_tf_config(tf_config, message):
    environ = {} if tf_config is None else {"TF_CONFIG": tf_config}
    with pytest.raises(DistributeError, match=message):
        read_tf_config(environ)


def test_tpu_where_there_is_none_fails_at_once(monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    with pytest.raises(DistributeError, match=r"no TPU here"):
        strategy_from_flag("tpu")


def test_global_batch_must_divide_over_replicas():
    class TwoReplicas:
        num_replicas_in_sync = 2

    assert per_replica_batch(64, TwoReplicas()) == 32
    with pytest.raises(DistributeError, match=r"global batch 63 does not divide over 2 replicas"):
        per_replica_batch(63, TwoReplicas())


def test_devices_this_host_lacks_are_named():
    tf.config.list_logical_devices()  # TensorFlow has started: the CPU can no longer be split
    with pytest.raises(DistributeError, match=r"--devices: no /gpu:0 on this host; accepted: /device:CPU:0"):
        strategy_from_flag("mirrored", devices=["/gpu:0"])
    with pytest.raises(DistributeError, match=r"--devices: 'foo' is not a device name; accepted: names like /gpu:0"):
        strategy_from_flag("mirrored", devices=["foo"])
    with pytest.raises(DistributeError, match=r"cannot split the CPU into 2 devices after TensorFlow has started"):
        strategy_from_flag("mirrored", devices=["/cpu:0", "/cpu:1"])


@pytest.mark.slow  # mirrored training
def test_mirrored_over_cpus_named_on_the_command_line(tmp_path):
    data = write_sentiment_csv(tmp_path / "tiny.csv", rows=60)
    result = subprocess.run([sys.executable, "-m", "encoders_tf.cli", "train", "--model", "lstm", "--dataset",
                             str(data), "--epochs", "1", "--batch-size", "16", "--vocabulary-size", "80",
                             "--strategy", "mirrored", "--devices", "/cpu:0,/cpu:1", "--out", str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "strategy MirroredStrategy: 2 replica(s), global batch 16, 8 per replica" in result.stdout


@pytest.mark.slow  # mirrored training
@pytest.mark.parametrize("architecture", ["transformer", "lstm"])
def test_mirrored_over_two_cpus_gives_the_single_device_weights(architecture):
    script = pathlib.Path(__file__).with_name("mirrored_vs_single.py")
    result = subprocess.run([sys.executable, str(script), architecture], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["max_weight_change"] > 1e-3  # the weights did move: the comparison means something
    assert report["max_weight_difference"] <= 1e-5


@pytest.mark.slow  # XLA and mixed-precision training
@pytest.mark.parametrize("flags", [["--precision", "mixed_bfloat16"], ["--precision", "mixed_float16"],
                                   ["--jit-compile"]], ids=["bfloat16", "float16", "xla"])
def test_precision_and_xla_train_with_a_finite_decreasing_loss(flags, tmp_path, capsys):
    data = write_sentiment_csv(tmp_path / "tiny.csv", rows=120)
    run = tmp_path / "run"
    assert main(["train", "--model", "transformer-tiny", "--dataset", str(data), "--epochs", "3",
                 "--batch-size", "16", "--max-length", "16", "--vocabulary-size", "80", "--learning-rate", "3e-3",
                 "--out", str(run), *flags]) == 0
    capsys.readouterr()
    loss = json.loads((run / "history.json").read_text())["loss"]
    assert all(np.isfinite(loss)) and loss[-1] < loss[0]
    written = json.loads((run / "run.json").read_text())
    assert written["options"]["precision"] == (flags[1] if len(flags) > 1 else "float32")
    assert written["xla"] == ("--jit-compile" in flags)  # really compiled, not silently dropped by Keras
