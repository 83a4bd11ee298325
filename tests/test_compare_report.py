"""The recommendation, the latency crossing, the report files and the terminal table of `encoders-tf compare`, on
hand-made metrics."""

import base64
import copy
import re

import pytest

from encoders_tf.compare import recommend as recommend_module
from encoders_tf.compare.recommend import RULE_ACCURACY_THEN_LATENCY, RULE_LATENCY_BUDGET, RULES, recommend
from encoders_tf.compare.report import crossing_length, summary_table, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOTS = ("accuracy_vs_train_time.png", "accuracy_vs_latency.png", "latency_vs_length.png",
         "throughput_vs_length.png", "accuracy_by_length.png", "learning_curves.png")
LENGTHS = [32, 64, 128, 256, 512]


def _comparison(difference, p_value, significant):
    return {"difference": difference, "low": difference - 0.03, "high": difference + 0.03, "p_value": p_value,
            "test": "paired bootstrap", "significant": significant}


def _model(name, accuracy, p50_ms, parameters, vs_first=None, vs_best=None):
    """A model entry of the metrics schema; `p50_ms` lists batch-1 p50 latencies at LENGTHS (None: not measured)."""
    return {
        "name": name, "kind": "trained", "run_dir": f"runs/compare/{name}",
        "saved_model": f"runs/compare/saved_models/{name}/1",
        "quality": {"accuracy": {"value": accuracy, "low": accuracy - 0.03, "high": accuracy + 0.02},
                    "macro_f1": {"value": accuracy - 0.01, "low": accuracy - 0.04, "high": accuracy + 0.01},
                    "vs_first": vs_first, "vs_best": vs_best},
        "accuracy_by_length": [{"quartile": quartile, "min_tokens": 3 * quartile, "max_tokens": 3 * quartile + 2,
                                "examples": 218, "accuracy": accuracy - 0.02 * quartile} for quartile in (1, 2, 3, 4)],
        "cost": {"parameters": parameters, "flops_per_token": 2.0 * parameters, "train_seconds": parameters / 20_000,
                 "train_examples_per_s": 3300.0, "peak_memory_mb": 850.0},
        "serving": {"batch1": {str(length): None if ms is None else {"p50_ms": ms, "p99_ms": 1.5 * ms}
                               for length, ms in zip(LENGTHS, p50_ms)},
                    "batch64": {str(length): None if ms is None else {"examples_per_s": 64_000 / ms}
                                for length, ms in zip(LENGTHS, p50_ms)}},
        "learning_curve": {"epoch": [1, 2, 3], "val_accuracy": [accuracy - 0.03, accuracy - 0.01, accuracy],
                           "val_loss": [0.45, 0.41, 0.40]},
    }


def _metrics():
    """lstm (baseline, not significantly below the best, cheapest), transformer (the best; faster than lstm up
    to 43 tokens), distilled (significantly worse, fastest; no history, FLOPs, memory or 512-token figures)."""
    distilled = _model("distilled", 0.78, [0.5, 0.7, 1.2, 2.5, None], 500_000,
                       vs_first=_comparison(-0.05, 0.001, True), vs_best=_comparison(-0.07, 0.0002, True))
    del distilled["learning_curve"]
    distilled["cost"].update(flops_per_token=None, peak_memory_mb=None)
    return {
        "dataset": "sst2", "split": "test", "examples": 872,
        "machine": "AMD EPYC, 2 cores, TensorFlow 2.20.0",
        "versions": {"tensorflow": "2.20.0", "keras": "3.15.1", "encoders_tf": "0.1.0", "python": "3.11.9"},
        "seed": 0, "budget": {"epochs": 3}, "reference_length": 64, "lengths": LENGTHS,
        "models": [
            _model("lstm", 0.83, [1.0, 2.0, 4.0, 8.0, 16.0], 1_100_000, vs_best=_comparison(-0.02, 0.2, False)),
            _model("transformer", 0.85, [0.8, 2.4, 6.0, 20.0, 70.0], 4_400_000,
                   vs_first=_comparison(0.02, 0.2, False)),
            distilled],
    }


def test_crossing_length_interpolates_linearly_between_measured_lengths():
    assert crossing_length([32, 64, 128], [1.0, 2.0, 4.0], [3.0, 3.0, 3.0]) == pytest.approx(96.0)
    assert crossing_length([32, 64, 128], [1.0, 3.0, 5.0], [2.0, 3.0, 4.0]) == 64.0  # equal at a measured length
    assert crossing_length([32, 64, 128], [1.0, None, 4.0], [3.0, 3.0, 3.0]) == pytest.approx(96.0)
    assert crossing_length([128, 32, 64], [4.0, 1.0, 2.0], [3.0, 3.0, 3.0]) == pytest.approx(96.0)  # any order


def test_curves_that_do_not_cross_have_no_crossing_length():
    assert crossing_length([32, 64, 128], [1.0, 2.0, 3.0], [2.0, 4.0, 8.0]) is None
    assert crossing_length([32, 64, 128], [1.0, 3.0, 2.0], [2.0, 3.0, 4.0]) is None  # touch, a stays faster
    assert crossing_length([32, 64], [1.0, None], [2.0, 0.5]) is None  # one common length only


def test_the_rules_are_the_module_docstring_s():
    docstring = " ".join(recommend_module.__doc__.split())
    for rule in RULES:
        assert rule in docstring


def test_rule_1_picks_the_cheapest_model_not_significantly_below_the_best():
    recommendation = recommend(_metrics())
    assert recommendation["model"] == "lstm"
    assert recommendation["rule"] == RULE_ACCURACY_THEN_LATENCY
    assert recommendation["candidates"] == ["lstm", "transformer"]  # distilled, the fastest, is significantly worse
    for number in ("0.830", "2.00 ms", "1,100,000", "transformer", "0.850"):
        assert number in recommendation["reason"]


def test_rule_1_breaks_latency_ties_by_parameters_and_keeps_the_best_when_others_are_significantly_worse():
    metrics = _metrics()
    metrics["models"][0]["serving"]["batch1"]["64"]["p50_ms"] = 2.4  # lstm as fast as the transformer
    metrics["models"][0]["cost"]["parameters"] = 5_000_000
    assert recommend(metrics)["model"] == "transformer"
    metrics = _metrics()
    metrics["models"][0]["quality"]["vs_best"]["significant"] = True
    assert recommend(metrics) | {"reason": None} == {"model": "transformer", "rule": RULE_ACCURACY_THEN_LATENCY,
                                                      "reason": None, "candidates": ["transformer"]}


def test_rule_1_leaves_out_a_model_without_a_comparison_to_the_best():
    metrics = _metrics()
    metrics["models"][0]["quality"]["vs_best"] = None
    assert recommend(metrics)["model"] == "transformer"


def test_rule_1_takes_every_model_tied_with_the_best():
    metrics = _metrics()
    lstm, transformer = metrics["models"][:2]
    lstm["quality"]["accuracy"]["value"] = 0.85  # the driver took lstm as the best, the transformer ties
    lstm["quality"]["vs_best"], transformer["quality"]["vs_best"] = None, _comparison(0.0, 1.0, False)
    metrics["models"][0]["serving"]["batch1"]["64"]["p50_ms"] = 3.0  # now slower than the transformer
    recommendation = recommend(metrics)
    assert recommendation["candidates"] == ["lstm", "transformer"]
    assert recommendation["model"] == "transformer" and "the most accurate model" in recommendation["reason"]


def test_rule_2_picks_the_most_accurate_model_within_the_latency_budget():
    assert recommend(_metrics(), latency_budget_ms=10.0)["model"] == "transformer"
    within_2_ms = recommend(_metrics(), latency_budget_ms=2.0)  # lstm at 2.0 and distilled at 0.7, not 2.4
    assert within_2_ms["model"] == "lstm"
    assert within_2_ms["rule"] == RULE_LATENCY_BUDGET
    assert within_2_ms["candidates"] == ["lstm", "distilled"]
    assert recommend(_metrics(), latency_budget_ms=1.0)["model"] == "distilled"


def test_rule_2_with_no_model_within_the_budget_names_the_fastest():
    recommendation = recommend(_metrics(), latency_budget_ms=0.5)
    assert recommendation["model"] is None and recommendation["candidates"] == []
    assert "No model" in recommendation["reason"] and "0.5 ms" in recommendation["reason"]
    assert "fastest is distilled" in recommendation["reason"] and "0.70 ms" in recommendation["reason"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("report")
    return out_dir, write_report(_metrics(), out_dir)


def test_write_report_writes_every_file(report):
    out_dir, paths = report
    assert sorted(paths) == sorted([*PLOTS, "report.md", "report.html"])
    assert sorted(path.name for path in out_dir.iterdir()) == sorted(paths)
    for name in PLOTS:
        assert paths[name].read_bytes().startswith(PNG_SIGNATURE)


def test_report_html_is_self_contained_with_every_plot_embedded(report):
    out_dir, paths = report
    page = paths["report.html"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page and "<link" not in page and "<style>" in page
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert page.count("data:image/png;base64,") == len(embedded) == len(list(out_dir.glob("*.png")))
    assert sorted(base64.b64decode(image) for image in embedded) == sorted(
        (out_dir / name).read_bytes() for name in PLOTS)


def test_report_md_opens_with_the_data_set_and_the_recommendation(report):
    _, paths = report
    lines = paths["report.md"].read_text().splitlines()
    assert lines[0].startswith("# ") and "sst2" in lines[0]
    assert lines[2].startswith("**Recommendation: lstm.**") and "0.830" in lines[2]
    assert RULE_ACCURACY_THEN_LATENCY in lines[4]


def test_report_md_has_the_table_the_crossing_the_plots_and_the_machine(report):
    _, paths = report
    text = paths["report.md"].read_text()
    distilled_row = next(line for line in text.splitlines() if line.startswith("| distilled |"))
    assert distilled_row.count("n/a") == 2  # FLOPs/token and peak memory
    assert "-0.050 [-0.080, -0.020], p = 0.001, yes" in distilled_row
    assert "| lstm | 0.830 [0.800, 0.850] |" in text and "baseline" in text
    assert "lstm and transformer cross at about 43 tokens (transformer is faster below, lstm above)" in text
    for name in PLOTS:
        assert f"]({name})" in text
    assert "AMD EPYC" in text and "keras 3.15.1" in text and "3 epochs" in text
    assert text.index("Recommendation") < text.index("## Summary") < text.index("## Plots") < text.index(
        "## Machine and versions")


def test_write_report_is_deterministic_and_takes_a_budget(report, tmp_path):
    out_dir, paths = report
    again = write_report(_metrics(), tmp_path, latency_budget_ms=0.5)
    for name in PLOTS:
        assert again[name].read_bytes() == paths[name].read_bytes()
    assert again["report.md"].read_text().splitlines()[2].startswith("**Recommendation: none.** No model")


def test_write_report_without_serving_history_or_length_figures(tmp_path):
    metrics = copy.deepcopy(_metrics())
    for model in metrics["models"]:
        model["serving"] = {}
        model.pop("learning_curve", None)
        model.pop("accuracy_by_length")
    paths = write_report(metrics, tmp_path)
    assert all(paths[name].read_bytes().startswith(PNG_SIGNATURE) for name in PLOTS)
    assert "do not cross" in paths["report.md"].read_text()


def test_summary_table_fits_120_columns_and_shows_missing_figures_as_n_a():
    metrics = _metrics()
    metrics["models"][2]["name"] = "transformer-distilled-from-all-minilm-l6-v2-at-temperature-4"
    table = summary_table(metrics)
    lines = table.splitlines()
    assert all(len(line) <= 120 for line in lines)
    assert lines[0].split()[:3] == ["model", "accuracy", "[95%"]
    assert lines[1].startswith("lstm ") and "baseline" in lines[1] and "1.1M" in lines[1]
    assert "+0.020 p=0.200 " in lines[2]
    assert "-0.050 p=0.001*" in lines[3] and lines[3].count("n/a") == 2
    assert lines[3].startswith("transformer-dis…")
