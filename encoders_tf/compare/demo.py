"""`make demo`: train the LSTM baseline and a small Transformer on one data set, compare, export both."""

import json
import pathlib

from encoders_tf.export import check_export, check_servable, export_for_serving
from encoders_tf.training.classifier import TrainOptions, train_classifier
from encoders_tf.training.runs import load_run

DEMO_MODELS = ("lstm", "transformer")
COLUMNS = (("model", "model"), ("accuracy", "accuracy"), ("macro_f1", "macro-F1"),
           ("parameters", "parameters"), ("train_seconds", "train s"), ("ms_per_example", "ms/example"))


def comparison_table(rows):
    """A Markdown table of demo rows (dicts with the COLUMNS keys)."""
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |",
             "|" + "|".join("---" if key == "model" else "---:" for key, _ in COLUMNS) + "|"]
    for row in rows:
        cells = [row["model"], f"{row['accuracy']:.4f}", f"{row['macro_f1']:.4f}", f"{row['parameters']:,}",
                 f"{row['train_seconds']:.1f}", f"{row['ms_per_example']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_demo(dataset="tweets", data_dir=None, epochs=3, out="runs/demo", base="saved_models",
             max_examples=None, models=DEMO_MODELS):
    """Trains each model, prints the comparison table, exports each and checks it on TF Serving's path.

    Args:
        dataset: a named data set or file.
        data_dir: where its files are (default: $ENCODERS_TF_DATA or the installed package).
        epochs: training epochs for each model.
        out: directory for the runs and comparison.json.
        base: model base path root for the exports.
        max_examples: cap each split (for quick runs).
        models: the encoder presets to compare.

    Returns:
        The table rows, one dict per model, with the export path.
    """
    rows = []
    for model_name in models:
        options = TrainOptions(model=model_name, dataset=dataset, data_dir=data_dir, epochs=epochs,
                               max_examples=max_examples, out=str(pathlib.Path(out) / model_name))
        print(f"\n== training {model_name} on {dataset} ==", flush=True)
        run = train_classifier(options, verbose=2)
        model, _ = load_run(options.run_dir())
        export_name = f"{pathlib.Path(dataset).stem}-{model_name}"
        path = export_for_serving(model, export_name, base,
                                  config={"encoder_config": run["encoder_config"], "options": run["options"]})
        check_servable(path)
        check_export(model, path)
        rows.append({"model": model_name, **run["test_metrics"], "parameters": run["parameters"],
                     "train_seconds": run["train_seconds"], "ms_per_example": run["ms_per_example"],
                     "export": str(path)})
    table = comparison_table(rows)
    print(f"\nTest split of {dataset} ({rows[0]['examples']} examples):\n\n{table}\n")
    for row in rows:
        print(f"exported {row['model']}: {row['export']} (checked on TF Serving's loading path)")
    pathlib.Path(out).mkdir(parents=True, exist_ok=True)
    (pathlib.Path(out) / "comparison.json").write_text(json.dumps(rows, indent=2) + "\n")
    return rows
