"""`encoders-tf compare`: LSTM or Transformer for this data, and at what cost. Trains each named preset on the same
data, splits, seed and budget (or takes finished runs as they are), measures every model the same way through its
exported SavedModel, and writes metrics.json, a report (Markdown and self-contained HTML) and its plots."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import platform
import subprocess
import sys

import numpy as np

from encoders_tf.errors import InputError, RunFailure

METRICS_FILE = "metrics.json"
TRAINED_FILE = "trained.json"  # the peak memory of each model trained here, kept for a comparison started again
LENGTHS = (32, 64, 128, 256, 512)


@dataclasses.dataclass
class CompareOptions:
    """What `encoders-tf compare` takes; see `encoders-tf compare --help`."""

    models: tuple = ("lstm", "transformer")  # presets to train, or classifier run directories
    dataset: str = "tweets"
    data_dir: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    out: str = "runs/compare"
    epochs: int = 3
    budget_minutes: float | None = None  # training time per model instead of (within) the epochs
    batch_size: int = 64
    max_length: int = 64
    vocabulary_size: int = 8000
    max_examples: int | None = None
    seed: int = 0
    strategy: str = "auto"
    lengths: tuple = LENGTHS  # sequence lengths of the serving measurements
    latency_budget_ms: float | None = None
    overwrite: bool = False


def compare(options: CompareOptions, verbose=True, summary=True) -> dict:
    """Runs the comparison and writes OUT/metrics.json, OUT/report.md, OUT/report.html and the plots.

    Everything the user gave is checked before any training: the model names, the run directories (classifier
    runs of this data set's classes), the data set (two classes at least), the budget and `--out` (which may
    not hold another comparison unless `overwrite`).

    Args:
        options: a CompareOptions.
        verbose: print progress.
        summary: print the summary table and the report's path at the end.

    Returns:
        The metrics (as in metrics.json).

    Example (trains for minutes)::

        metrics = compare(CompareOptions(models=("lstm", "transformer"), dataset="sst2", out="runs/compare-sst2"))
        metrics["recommendation"]["model"]
    """
    from encoders_tf.data import load_dataset

    out = pathlib.Path(options.out)
    _check_out(out, options)
    entries = _model_entries(options.models)
    data = load_dataset(options.dataset, data_dir=options.data_dir, text_column=options.text_column,
                        label_column=options.label_column, seed=options.seed, max_examples=options.max_examples)
    present = sorted({int(label) for label in data.train.labels})
    if len(present) < 2:
        raise InputError(f"{options.dataset} has one class ({data.class_names[present[0]] if present else 'none'}) "
                         f"in its training split; a comparison needs two classes at least")
    if data.has_pairs:
        raise InputError(f"{options.dataset} holds pairs of texts; compare takes data sets of single texts")
    for name, kind, run in entries:
        if kind == "run" and list(run["class_names"]) != list(data.class_names):
            raise InputError(f"the run {name} was trained on the classes {list(run['class_names'])}, but "
                             f"{options.dataset} has {list(data.class_names)}")
    out.mkdir(parents=True, exist_ok=True)
    (out / METRICS_FILE).unlink(missing_ok=True)

    models = []
    trained = _read_json(out / TRAINED_FILE)
    for name, kind, _ in entries:
        run_dir, peak_memory_mb = pathlib.Path(name), None
        if kind == "trained":
            run_dir = out / "runs" / name
            if _finished(run_dir, options):  # by a comparison that stopped before its report
                if verbose:
                    print(f"\n== {name}: trained already, in {run_dir} ==", flush=True)
            else:
                if verbose:
                    print(f"\n== training {name} on {options.dataset} ==", flush=True)
                trained[name] = {"peak_memory_mb": _train(name, run_dir, options)}
                (out / TRAINED_FILE).write_text(json.dumps(trained, indent=2) + "\n")
            peak_memory_mb = trained.get(name, {}).get("peak_memory_mb")  # unknown for a run trained before
        models.append({"name": name, "kind": kind, "run_dir": str(run_dir), "peak_memory_mb": peak_memory_mb})
    metrics = measure(models, data, options, out, verbose)
    from encoders_tf.compare.recommend import recommend
    from encoders_tf.compare.report import summary_table, write_report

    metrics["recommendation"] = recommend(metrics, latency_budget_ms=options.latency_budget_ms)
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    paths = write_report(metrics, out, latency_budget_ms=options.latency_budget_ms)
    if summary:
        print("\n" + summary_table(metrics))
        print(f"\nreport: {paths['report.html']} (and report.md, metrics.json, the plots) in {out}", flush=True)
    return metrics


def _read_json(path):
    return json.loads(path.read_text()) if path.is_file() else {}


def _finished(run_dir, options):
    """Whether `run_dir` holds a finished run of this comparison's data and budget (an interrupted comparison
    started again reuses it)."""
    run = _read_json(pathlib.Path(run_dir) / "run.json").get("options", {})
    wanted = {"dataset": options.dataset, "epochs": _epochs(options), "batch_size": options.batch_size,
              "max_length": options.max_length, "vocabulary_size": options.vocabulary_size, "seed": options.seed,
              "max_examples": options.max_examples, "budget_minutes": options.budget_minutes}
    return bool(run) and all(run.get(key) == value for key, value in wanted.items())


def _epochs(options):
    return options.epochs if not options.budget_minutes else max(options.epochs, 1000)


def _check_out(out, options):
    existing = out / METRICS_FILE
    if existing.is_file() and not options.overwrite:
        try:
            held = json.loads(existing.read_text())
            what = f"{held.get('dataset')}: {', '.join(m.get('name', '?') for m in held.get('models', []))}"
        except (ValueError, AttributeError):
            what = "unreadable"
        raise InputError(f"--out {out} holds another comparison ({what}); give --overwrite to replace it, or "
                         f"another --out")


def _model_entries(names):
    """[(name, "trained" or "run", run.json or None)] of the --models list, each checked."""
    from encoders_tf.config import PRESETS
    from encoders_tf.training.runs import read_run_info

    if not names:
        raise InputError("--models names no model; accepted: presets (lstm, bilstm, transformer, ...) or run "
                         "directories, comma-separated")
    entries, seen = [], set()
    for name in names:
        if name in PRESETS:
            entry = (name, "trained", None)
        elif pathlib.Path(name).is_dir():
            run = read_run_info(name)
            if run.get("task") != "TextClassifier":
                raise InputError(f"--models {name} is a {run.get('task')} run, not a classifier run")
            entry = (name, "run", run)
        else:
            raise InputError(f"--models: unknown model {name!r}; accepted: a preset ({', '.join(PRESETS)}) or a "
                             f"classifier run directory")
        label = _label(entry[0])
        if label in seen:
            raise InputError(f"--models names {label} twice")
        seen.add(label)
        entries.append(entry)
    return entries


def _label(name):
    return pathlib.Path(name).name if pathlib.Path(name).is_dir() else name


def _train(preset, run_dir, options):
    """Trains `preset` with `encoders-tf train` in a process of its own; returns its peak memory (MB)."""
    argv = [sys.executable, "-m", "encoders_tf.cli", "train", "--model", preset, "--dataset", options.dataset,
            "--epochs", str(_epochs(options)),
            "--batch-size", str(options.batch_size), "--max-length", str(options.max_length),
            "--vocabulary-size", str(options.vocabulary_size), "--seed", str(options.seed),
            "--strategy", options.strategy, "--out", str(run_dir)]
    for flag, value in (("--data-dir", options.data_dir), ("--text-column", options.text_column),
                        ("--label-column", options.label_column), ("--max-examples", options.max_examples),
                        ("--budget-minutes", options.budget_minutes)):
        if value is not None:
            argv += [flag, str(value)]
    process = subprocess.Popen(argv)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RunFailure(f"training {preset} failed (exit {process.returncode}): {' '.join(argv[1:])}")
    return usage.ru_maxrss / 1024  # KiB on Linux


def measure(models, data, options, out, verbose=True):
    """The metrics of finished classifier runs: quality on the test split, by length, cost and serving speed, all
    through each model's SavedModel (exported to OUT/saved_models)."""
    from encoders_tf.compare import statistics
    from encoders_tf.compare.flops import flops_per_token
    from encoders_tf.config import EncoderConfig
    from encoders_tf.export import export_for_serving
    from encoders_tf.tasks import TextClassifier
    from encoders_tf.training.runs import load_run

    test = data.test
    loaded, results = [], []
    for entry in models:
        model, run = load_run(entry["run_dir"], TextClassifier)
        name = _label(entry["name"])
        if verbose:
            print(f"measuring {name}", flush=True)
        path = export_for_serving(model, name, out / "saved_models", keep=1,
                                  config={key: run[key] for key in ("encoder_config", "options", "class_names")})
        probabilities = _saved_model_probabilities(path, test.texts)
        predictions = probabilities.argmax(-1)
        config = EncoderConfig.from_dict(run["encoder_config"])
        history = _history(entry["run_dir"])
        epochs_run = len(history.get("loss", [])) or run["options"].get("epochs", 0)
        reference = min(options.max_length, config.max_length)
        results.append({
            "name": name, "kind": entry["kind"], "run_dir": entry["run_dir"], "saved_model": str(path),
            "predictions": predictions,
            "cost": {"parameters": int(run["parameters"]), "flops_per_token": flops_per_token(config, reference),
                     "train_seconds": run.get("train_seconds"),
                     "train_examples_per_s": (run["split_sizes"]["train"] * epochs_run / run["train_seconds"]
                                              if run.get("train_seconds") else None),
                     "peak_memory_mb": entry["peak_memory_mb"]},
            "learning_curve": ({"epoch": list(range(1, len(history["val_accuracy"]) + 1)),
                                "val_accuracy": history["val_accuracy"], "val_loss": history.get("val_loss")}
                               if "val_accuracy" in history else None),
        })
        loaded.append((model, config))

    counts = _token_counts(loaded[0][0].tokenizer, test.texts)
    predictions = {r["name"]: r.pop("predictions") for r in results}
    correct = {name: values == test.labels for name, values in predictions.items()}
    for r in results:
        r["quality"] = _quality(test.labels, predictions[r["name"]], data.num_classes, options.seed)
        r["accuracy_by_length"] = statistics.accuracy_by_length(correct[r["name"]], counts)
    best = max(results, key=lambda r: r["quality"]["accuracy"]["value"])["name"]
    for r in results:
        first = results[0]["name"]
        r["quality"]["vs_first"] = None if r["name"] == first else _paired(correct[first], correct[r["name"]],
                                                                           options.seed)
        r["quality"]["vs_best"] = None if r["name"] == best else _paired(correct[best], correct[r["name"]],
                                                                         options.seed)

    lengths = [length for length in options.lengths if length >= 3]
    serving = serving_by_length(loaded, [r["name"] for r in results], test.texts, lengths, out, verbose)
    for r in results:
        r["serving"] = serving[r["name"]]
    return {"dataset": options.dataset, "split": "test", "examples": len(test), "machine": machine(),
            "versions": versions(), "seed": options.seed,
            "budget": {"minutes": options.budget_minutes} if options.budget_minutes else {"epochs": options.epochs},
            "reference_length": options.max_length, "lengths": lengths, "models": results}


def _saved_model_probabilities(path, texts, batch_size=256):
    """serving_default's probabilities [N, C] of a SavedModel on texts."""
    import tensorflow as tf

    function = tf.saved_model.load(str(path)).signatures["serving_default"]
    parts = [function(text=tf.constant(list(texts[start:start + batch_size])))["probabilities"].numpy()
             for start in range(0, len(texts), batch_size)]
    return np.concatenate(parts, axis=0)


def _history(run_dir):
    path = pathlib.Path(run_dir) / "history.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _token_counts(tokenizer, texts):
    """Tokens of each text by `tokenizer`, uncut, specials included."""
    import tensorflow as tf

    return np.concatenate([tokenizer.pieces(tf.constant(list(texts[start:start + 1024]))).row_lengths().numpy()
                           for start in range(0, len(texts), 1024)]) + 2


def serving_by_length(loaded, names, texts, lengths, out, verbose=True, count=64):
    """{name: {"batch1": {length: {p50_ms, p99_ms}}, "batch64": {length: {examples_per_s}}}} measured through a
    SavedModel of each model's length probe, models interleaved at each length."""
    from encoders_tf.compare.length_probe import length_probe, texts_of_length
    from encoders_tf.compare.serving_cost import serving_cost
    from encoders_tf.export import export_for_serving

    probes = {}
    for name, (model, config) in zip(names, loaded):
        probe = length_probe(model, config, max(lengths))
        probes[name] = export_for_serving(probe, name, out / "length_probes", keep=1)
    words = [word for text in texts for word in text.split()]
    tokenizers = [model.tokenizer for model, _ in loaded]
    serving = {name: {"batch1": {}, "batch64": {}} for name in names}
    for length in lengths:
        if verbose:
            print(f"serving speed at {length} tokens", flush=True)
        batch_texts = texts_of_length(tokenizers, words, length, count)
        single = serving_cost(probes, batch_texts, batch_sizes=(1,), rounds=3, calls=10)
        full = serving_cost(probes, batch_texts, batch_sizes=(64,), rounds=3, calls=2)
        for name in names:
            serving[name]["batch1"][str(length)] = {key: single[name][1][key] for key in ("p50_ms", "p99_ms")}
            serving[name]["batch64"][str(length)] = {"examples_per_s": full[name][64]["examples_per_s"]}
    return serving


def machine():
    """The CPU model, its cores and the TensorFlow version."""
    import tensorflow as tf

    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, TensorFlow {tf.__version__}"


def versions():
    import keras
    import tensorflow as tf

    from encoders_tf import __version__

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "encoders_tf": __version__,
            "python": platform.python_version()}


def _quality(labels, predictions, num_classes, seed):
    """Accuracy and macro-F1 with their 95% bootstrap intervals."""
    import functools

    from encoders_tf.compare import statistics

    def accuracy(labels, predictions):
        return np.mean(labels == predictions, axis=-1)

    quality = {}
    for name, metric in (("accuracy", accuracy),
                         ("macro_f1", functools.partial(statistics.macro_f1, num_classes=num_classes))):
        value, low, high = statistics.bootstrap_metric(labels, predictions, metric, seed=seed)
        quality[name] = {"value": value, "low": low, "high": high}
    return quality


def _paired(correct_reference, correct_model, seed):
    """The model's accuracy minus the reference's on the same examples (paired bootstrap): significant when the
    95% interval excludes zero."""
    from encoders_tf.compare import statistics

    result = statistics.paired_bootstrap(correct_reference, correct_model, seed=seed)
    return {**result, "test": "paired bootstrap", "significant": not result["low"] <= 0 <= result["high"]}
