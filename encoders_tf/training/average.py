"""A model soup (Wortsman et al. 2022): the weights of runs fine-tuned from the same start, averaged element-wise.

Runs fine-tuned from one pretrained model land in one basin of the loss, so their average is a model too: at times
better than each member (on MRPC here, about their mean), at the cost of one model to serve (an ensemble of N costs N). The members must start
from the same weights (the same --init, --reinit-layers and --seed, which draws the new head and blocks) and
learn the same data; they may differ in the order they see it (--order-seed) and in their training
hyperparameters.
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from encoders_tf.errors import InputError
from encoders_tf.training.runs import load_run, read_run_info, save_run

# Options that fix a member's first weights and its data: a soup's members share them.
SAME_START = ("model", "init", "reinit_layers", "seed", "pooling", "max_length", "vocabulary_size")
SAME_DATA = ("dataset", "text_column", "text_pair_column", "label_column", "validation_fraction", "max_examples")
TASKS = ("TextClassifier", "TokenClassifier")


def average_runs(run_dirs, out, data_dir=None, verbose=True) -> dict:
    """Averages the weights of fine-tuned runs into a new run directory, evaluated on their test split.

    Args:
        run_dirs: two or more run directories of `encoders-tf train` (either task) that share their start and
            data (SAME_START, SAME_DATA).
        out: the run directory to write; its run.json lists the members (`averaged_runs`), and its
            `train_seconds` is theirs summed.
        data_dir: where the members' named data set is (default: where they read it).
        verbose: print what is averaged.

    Returns:
        The contents of run.json.

    Example (the members train for minutes each)::

        for order_seed in range(4):
            train_classifier(TrainOptions(init="runs/minilm", dataset="mrpc", data_dir="../shared/data", epochs=5,
                                          order_seed=order_seed, validation_fraction=0, out=f"runs/mrpc-{order_seed}"))
        run = average_runs([f"runs/mrpc-{order_seed}" for order_seed in range(4)], "runs/mrpc-soup")
        run["test_metrics"]["accuracy"]
    """
    if len(run_dirs) < 2:
        raise InputError(f"averaging needs two or more runs, got {len(run_dirs)}; accepted: run directories of "
                         f"`encoders-tf train` fine-tuned from the same start")
    runs = [read_run_info(run_dir) for run_dir in run_dirs]
    _check_members(run_dirs, runs)
    models = [load_run(run_dir)[0] for run_dir in run_dirs]
    soup = models[0]
    for weights in zip(*(model.weights for model in models), strict=True):
        values = [np.asarray(weight.numpy()) for weight in weights]
        for run_dir, weight, value in zip(run_dirs, weights, values):
            if value.shape != values[0].shape:
                raise InputError(f"{run_dir}: {weight.path} has the shape {value.shape}, {run_dirs[0]}'s "
                                 f"{values[0].shape}; accepted: runs of one architecture")
        if np.issubdtype(values[0].dtype, np.floating):
            weights[0].assign(np.mean(np.stack(values).astype(np.float64), axis=0).astype(values[0].dtype))
    if verbose:
        print(f"averaged {len(models)} runs' {len(soup.weights)} weights: {', '.join(map(str, run_dirs))}", flush=True)

    first = runs[0]
    options_class, evaluate = _task(first)
    options = options_class(**_known_fields(options_class, first["options"]))
    options.data_dir = data_dir or options.data_dir
    metrics, ms_per_example = evaluate(soup, options.load_data().test, options.batch_size)
    run = {key: value for key, value in first.items() if key not in ("task", "optimizer")}  # each member's own
    run.update({
        "options": {**first["options"], "out": str(out)},
        "averaged_runs": [str(pathlib.Path(run_dir).resolve()) for run_dir in run_dirs],
        "parameters": int(soup.count_params()),
        "train_seconds": round(sum(member.get("train_seconds", 0.0) for member in runs), 2),
        "ms_per_example": round(ms_per_example, 4),
        "test_metrics": metrics,
    })
    save_run(out, soup, run, metrics=metrics)
    return {"task": type(soup).__name__, **run}


def _check_members(run_dirs, runs):
    first_dir, first = run_dirs[0], runs[0]
    for run_dir, run in zip(run_dirs, runs):
        if run.get("task") not in TASKS:
            raise InputError(f"{run_dir} holds a {run.get('task')} run; accepted: runs of `encoders-tf train` "
                             f"({', '.join(TASKS)})")
    for run_dir, run in zip(run_dirs[1:], runs[1:]):
        if run["task"] != first["task"]:
            raise InputError(f"{run_dir} is a {run['task']} run, {first_dir} a {first['task']} one; accepted: "
                             f"runs of one task")
        for key in SAME_START + SAME_DATA:
            mine, theirs = _option(run, key), _option(first, key)
            if mine != theirs:
                raise InputError(
                    f"{run_dir} was trained with {_flag(key, mine)}, {first_dir} with {_flag(key, theirs)}; a soup's "
                    f"members start from the same weights and learn the same data: accepted runs that differ only in "
                    f"--order-seed and training hyperparameters (epochs, learning rate, batch size, dropout, ...)")
        for key in ("class_names", "tag_names", "text_pair"):
            if run.get(key) != first.get(key):
                raise InputError(f"{run_dir} has {key} {run.get(key)!r}, {first_dir} {first.get(key)!r}; accepted: "
                                 f"runs of the same classes")


def _option(run, key):
    value = run["options"].get(key)
    return str(pathlib.Path(value).resolve()) if key == "init" and value else value  # a path, however written


def _flag(key, value):
    flag = "--" + key.replace("_", "-")
    return f"no {flag}" if value is None else f"{flag} {value}"


def _task(run):
    """(options class, evaluation function) of a run's task."""
    if run["task"] == "TokenClassifier":
        from encoders_tf.training.tagging import TagOptions, evaluate_tagger

        return TagOptions, evaluate_tagger
    from encoders_tf.training.classifier import TrainOptions, evaluate_split

    return TrainOptions, evaluate_split


def _known_fields(options_class, options):
    names = {field.name for field in dataclasses.fields(options_class)}
    return {key: tuple(value) if isinstance(value, list) else value for key, value in options.items() if key in names}

