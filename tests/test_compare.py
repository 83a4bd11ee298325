"""`encoders-tf compare` on a tiny run: every figure of metrics.json present and sane, FLOPs against a hand count,
the report's files, and bad input refused before any training."""

import json
import re

import pytest

from encoders_tf.cli import main
from tests.conftest import write_sentiment_csv

LENGTHS = (8, 16, 32)


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compare")
    data = write_sentiment_csv(tmp / "sentiment.csv", rows=160)
    out = tmp / "comparison"
    assert main(["compare", "--models", "lstm,transformer-tiny", "--dataset", str(data), "--epochs", "2",
                 "--batch-size", "16", "--max-length", "16", "--vocabulary-size", "60",
                 "--lengths", ",".join(map(str, LENGTHS)), "--out", str(out)]) == 0
    return tmp, out, json.loads((out / "metrics.json").read_text())


def _within(figure):
    return figure["low"] <= figure["value"] <= figure["high"]


@pytest.mark.slow  # trains two models
def test_every_figure_is_present_and_sane(comparison):
    _, out, metrics = comparison
    assert [m["name"] for m in metrics["models"]] == ["lstm", "transformer-tiny"]
    assert metrics["examples"] == 16 and metrics["lengths"] == list(LENGTHS) and metrics["budget"] == {"epochs": 2}
    assert "cores" in metrics["machine"] and set(metrics["versions"]) >= {"tensorflow", "keras", "encoders_tf"}
    first, second = metrics["models"]
    for model in metrics["models"]:
        quality = model["quality"]
        assert _within(quality["accuracy"]) and _within(quality["macro_f1"])
        assert sum(row["examples"] for row in model["accuracy_by_length"]) == metrics["examples"]
        run = json.loads((out / "runs" / model["name"] / "run.json").read_text())
        cost = model["cost"]
        assert cost["parameters"] == run["parameters"] and cost["train_seconds"] == run["train_seconds"]
        assert cost["train_examples_per_s"] == pytest.approx(run["split_sizes"]["train"] * 2 / run["train_seconds"])
        assert cost["peak_memory_mb"] > 100  # TensorFlow alone takes more
        for length in map(str, LENGTHS):
            latency = model["serving"]["batch1"][length]
            assert 0 < latency["p50_ms"] <= latency["p99_ms"]
            assert model["serving"]["batch64"][length]["examples_per_s"] > 0
        assert model["learning_curve"]["epoch"] == [1, 2] and len(model["learning_curve"]["val_accuracy"]) == 2
        assert (out / "saved_models" / model["name"] / "1" / "saved_model.pb").is_file()
    assert first["quality"]["vs_first"] is None
    paired = second["quality"]["vs_first"]
    assert paired["low"] <= paired["difference"] <= paired["high"] and 0 <= paired["p_value"] <= 1
    assert paired["difference"] == pytest.approx(second["quality"]["accuracy"]["value"]
                                                 - first["quality"]["accuracy"]["value"])
    assert paired["significant"] == (not paired["low"] <= 0 <= paired["high"])
    assert metrics["recommendation"]["model"] in {"lstm", "transformer-tiny"}


@pytest.mark.slow  # trains two models
def test_flops_per_token_match_a_hand_count(comparison):
    _, _, metrics = comparison
    lstm, transformer = (model["cost"]["flops_per_token"] for model in metrics["models"])
    # LSTM, embedding 128 -> 128 units: the four gates' matmuls, 2 x 4 x 128 x (128 + 128) per token.
    assert lstm == pytest.approx(2 * 4 * 128 * (128 + 128), rel=0.01)
    # transformer-tiny at 16 tokens: hidden 64, one block, feed-forward 128: Q, K, V and output projections
    # 4 x 2 x 64 x 64, feed-forward 2 x 2 x 64 x 128, attention scores and mix 2 x 2 x 16 x 64 per token.
    hand = 4 * 2 * 64 * 64 + 2 * 2 * 64 * 128 + 2 * 2 * 16 * 64
    assert transformer == pytest.approx(hand, rel=0.05)


@pytest.mark.slow  # trains two models
def test_the_report_holds_every_plot_and_nothing_from_outside(comparison):
    _, out, metrics = comparison
    plots = sorted(out.glob("*.png"))
    assert len(plots) == 6
    for plot in plots:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(plots)
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", html)
    assert all(reference.startswith(("data:", "#")) for reference in references), references
    report = (out / "report.md").read_text().splitlines()
    assert metrics["recommendation"]["model"] in "\n".join(report[:4])


@pytest.mark.slow  # trains two models first
def test_an_out_holding_a_comparison_and_runs_of_other_classes_are_refused(comparison, capsys):
    tmp, out, _ = comparison
    data = tmp / "sentiment.csv"
    assert main(["compare", "--dataset", str(data), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    three = write_sentiment_csv(tmp / "three.csv", rows=60, classes=3)
    assert main(["compare", "--models", f"lstm,{out / 'runs' / 'transformer-tiny'}", "--dataset", str(three),
                 "--out", str(tmp / "other")]) == 2
    err = capsys.readouterr().err.strip()
    assert "['0', '1']" in err and "['0', '1', '2']" in err and "\n" not in err
    assert not (tmp / "other").exists()  # refused before anything was written


@pytest.mark.slow  # trains two models
def test_demo_compares_exports_both_and_ends_with_the_summary(tmp_path, capsys):
    from encoders_tf.compare import run_demo

    data = write_sentiment_csv(tmp_path / "sentiment.csv", rows=120)
    run_demo(dataset=str(data), epochs=1, out=tmp_path / "demo", base=tmp_path / "saved_models", lengths=(16, 32))
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith(f"report: {tmp_path / 'demo' / 'report.html'}")
    assert any(line.startswith("lstm ") for line in lines[-6:]) and any(line.startswith("transformer ")
                                                                          for line in lines[-6:])
    for model in ("lstm", "transformer"):
        assert (tmp_path / "saved_models" / f"sentiment-{model}" / "1" / "saved_model.pb").is_file()
    assert (tmp_path / "saved_models" / "models.config").is_file()


@pytest.mark.slow  # trains two models first
def test_finished_runs_are_taken_as_they_are(comparison, capsys):
    tmp, out, metrics = comparison
    lstm_run = out / "runs" / "lstm"
    assert main(["compare", "--models", f"transformer-tiny,{lstm_run}", "--dataset", str(tmp / "sentiment.csv"),
                 "--epochs", "2", "--batch-size", "16", "--max-length", "16", "--vocabulary-size", "60",
                 "--lengths", "16", "--out", str(out), "--overwrite"]) == 0
    assert "transformer-tiny: trained already" in capsys.readouterr().out  # the same options: not trained again
    again = json.loads((out / "metrics.json").read_text())
    by_name = {model["name"]: model for model in again["models"]}
    before = {model["name"]: model for model in metrics["models"]}
    assert by_name["lstm"]["kind"] == "run" and by_name["lstm"]["cost"]["peak_memory_mb"] is None
    for name in ("lstm", "transformer-tiny"):  # the same models give the same predictions
        assert by_name[name]["quality"]["accuracy"] == before[name]["quality"]["accuracy"]
    assert by_name["transformer-tiny"]["cost"]["peak_memory_mb"] == before["transformer-tiny"]["cost"]["peak_memory_mb"]
