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
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--quick", "--only", "lstm,matmul",
                    "--results-dir", str(tmp_path)], check=True, cwd=ROOT, capture_output=True, timeout=600)
    [path] = tmp_path.glob("speed-quick-*.json")
    records = json.loads(path.read_text())
    assert {(r["model"], r["metric"]) for r in records} >= {
        ("tf.matmul-float32", "gflops"), ("lstm-forward", "ratio_vs_keras_lstm"),
        ("bilstm-train", "ratio_vs_keras_lstm"), ("keras-bilstm-train", "ms_per_step")}
    for record in records:
        assert REQUIRED <= set(record), record
        assert record["benchmark"] == "speed" and record["machine"] and "--quick" in record["command"]
        if record["metric"].startswith(("ratio_vs_", "ms_per_step", "gflops")):
            assert record["value"] > 0, record
    differences = [r["value"] for r in records if r["metric"] == "max_abs_diff_vs_keras_lstm"]
    assert len(differences) == 2 and max(differences) <= 1e-4
