"""`make demo`: `encoders-tf compare` of the LSTM baseline and a small Transformer on one data set, then both
models exported for serving."""

import pathlib

from encoders_tf.compare.comparison import LENGTHS, CompareOptions, compare
from encoders_tf.compare.report import summary_table
from encoders_tf.export import check_export, check_servable, export_for_serving
from encoders_tf.training.runs import load_run

DEMO_MODELS = ("lstm", "transformer")


def run_demo(dataset="tweets", data_dir=None, epochs=3, out="runs/demo", base="saved_models",
             max_examples=None, models=DEMO_MODELS, lengths=LENGTHS):
    """Compares the models (OUT/report.html), exports each to BASE and checks it on TF Serving's loading path,
    and ends with the comparison's summary and the report's path.

    Args:
        dataset: a named data set or file.
        data_dir: where its files are (default: $ENCODERS_TF_DATA or the installed package).
        epochs: training epochs for each model.
        out: directory of the comparison (runs, metrics.json, report); an earlier demo's is replaced.
        base: model base path root for the exports.
        max_examples: cap each split (for quick runs).
        models: the encoder presets to compare.
        lengths: the sequence lengths of the serving measurements.

    Returns:
        The comparison's metrics, each model with its `export` path added.
    """
    metrics = compare(CompareOptions(models=tuple(models), dataset=dataset, data_dir=data_dir, epochs=epochs,
                                     out=str(out), max_examples=max_examples, lengths=tuple(lengths),
                                     overwrite=True), summary=False)
    for entry in metrics["models"]:
        model, run = load_run(entry["run_dir"])
        path = export_for_serving(model, f"{pathlib.Path(dataset).stem}-{entry['name']}", base,
                                  config={"encoder_config": run["encoder_config"], "options": run["options"]})
        check_servable(path)
        check_export(model, path)
        entry["export"] = str(path)
        print(f"exported {entry['name']}: {path} (checked on TF Serving's loading path)")
    print(f"\nTest split of {dataset} ({metrics['examples']} examples):\n\n{summary_table(metrics)}\n")
    print(f"report: {pathlib.Path(out) / 'report.html'} (and report.md, metrics.json, the plots)", flush=True)
    return metrics
