"""benchmarks/speed.py --quick writes records in DESIGN.md's format (the figures themselves are not asserted)."""

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
REQUIRED = {"benchmark", "dataset", "split", "model", "metric", "value", "unit", "machine", "date", "command"}


@pytest.mark.slow  # builds and times models in a process of its own
def test_quick_speed_benchmark_writes_well_formed_records(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--quick", "--only",
                    "lstm,matmul,precision,parts", "--results-dir", str(tmp_path)], check=True, cwd=ROOT,
                   capture_output=True, timeout=600)
    [path] = tmp_path.glob("speed-quick-*.json")
    records = json.loads(path.read_text())
    assert {(r["model"], r["metric"]) for r in records} >= {
        ("tf.matmul-float32", "gflops"), ("lstm-forward", "ratio_vs_keras_lstm"),
        ("bilstm-train", "ratio_vs_keras_lstm"), ("keras-bilstm-train", "ms_per_step"),
        ("lstm-train-xla", "ratio_vs_keras_lstm"), ("lstm-forward", "mfu"), ("keras-lstm-forward", "ops_per_step"),
        ("tf.matmul-bfloat16", "gflops"), ("transformer-train-mixed_bfloat16", "speedup_vs_float32"),
        ("transformer-train-attention", "ratio_vs_keras_hub"), ("keras-hub-bert-train-feed-forward", "ms_per_step"),
        ("transformer-forward-embeddings", "ratio_vs_keras_hub"), ("transformer-train-whole", "ratio_vs_keras_hub")}
    for record in records:
        assert REQUIRED <= set(record), record
        assert record["benchmark"] == "speed" and record["machine"] and "--quick" in record["command"]
        if record["metric"].startswith(("ratio_vs_", "ms_per_step", "gflops")):
            assert record["value"] > 0, record
    differences = [r["value"] for r in records if r["metric"] == "max_abs_diff_vs_keras_lstm"]
    assert len(differences) == 4 and max(differences) <= 1e-4  # both presets, with and without XLA
    # the graph nodes of one time step: one loop body forward; a training step adds the gradient loop's body
    ops = {r["model"]: r["value"] for r in records if r["metric"] == "ops_per_step"}
    assert set(ops) == {f"{who}{preset}-{phase}" for who in ("", "keras-") for preset in ("lstm", "bilstm")
                        for phase in ("forward", "train")}
    assert 10 < ops["lstm-forward"] < ops["lstm-train"] and ops["bilstm-forward"] > ops["lstm-forward"]
    assert all(0 < r["value"] < 1 for r in records if r["metric"] == "mfu")
    # bfloat16 keeps 8 bits of mantissa: outputs of LayerNorm scale (about 1) differ by hundredths, not units
    [bfloat16] = [r["value"] for r in records if r["metric"] == "max_abs_diff_vs_float32"]
    assert 0 < bfloat16 < 0.25


@pytest.mark.slow  # trains a small run, exports it twice and serves it, in processes of their own
def test_serving_measurement_compares_int8_with_float32_and_serve_with_in_process(tmp_path):
    from tests.conftest import write_sentiment_csv

    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=200)
    run = tmp_path / "reviews-lstm"
    script = pathlib.Path(sys.executable).with_name("encoders-tf")
    subprocess.run([str(script), "train", "--model", "lstm", "--dataset", str(data), "--epochs", "2", "--batch-size",
                    "16", "--max-length", "16", "--vocabulary-size", "100", "--out", str(run)], check=True,
                   capture_output=True, timeout=600)
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--quick", "--only", "serving",
                    "--serving-runs", str(run), "--results-dir", str(tmp_path)], check=True, cwd=ROOT,
                   capture_output=True, timeout=600)
    [path] = tmp_path.glob("speed-quick-*.json")
    values = {(r["model"], r["metric"]): r["value"] for r in json.loads(path.read_text())}
    for model in ("reviews-lstm-savedmodel", "reviews-lstm-serve"):
        assert values[model, "p50_ms_b1"] > 0 and values[model, "examples_per_s_b64"] > 0
    assert 0.5 < values["reviews-lstm-savedmodel", "accuracy"] <= 1.0  # the class words make this easy
    assert values["reviews-lstm-int8", "passes_check_serving"] == 1.0
    assert abs(values["reviews-lstm-int8", "accuracy_change_points"]) <= 100
    assert values["reviews-lstm-int8", "ratio_vs_float32_b1"] > 0


@pytest.mark.slow  # imports TensorFlow in a process of its own
def test_serving_measurement_names_a_missing_run(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--only", "serving",
                             "--serving-runs", str(tmp_path / "nothing")], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert str(tmp_path / "nothing") in result.stderr and "make demo" in result.stderr
