"""Run directories: one format for a trained, a pretrained and a converted model.

A run directory holds `model.keras` (a task model: tokenizer, encoder and head in one file), `run.json`
(what made it: the task, options, encoder config, sizes, timings), and, when there are any,
`vocab.txt`, `history.json` (per epoch) and `metrics.json` (on the reported split). Every command that
takes a model (`--init`, `evaluate`, `export`) takes any run directory.
"""

from __future__ import annotations

import json
import pathlib

from encoders_tf.errors import InputError

MODEL_FILE = "model.keras"
RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.json"
VOCABULARY_FILE = "vocab.txt"
BACKUP_DIRECTORY = "backup"  # inside the run directory while training; deleted when training finishes


class RunError(InputError):
    """A path that is not a run directory, or a run of the wrong kind."""


def save_run(run_dir, model, run, history=None, metrics=None):
    """Writes a run directory; returns its path.

    Args:
        run_dir: the directory (created when missing).
        model: a task model (`encoders_tf.tasks.Task`).
        run: JSON-able facts of the run; `task` (the model's class name) is added.
        history: {metric: [value per epoch]}, written to history.json.
        metrics: the metrics on the reported split, written to metrics.json.

    Example:
    >>> from encoders_tf import EncoderConfig, build_encoder
    >>> from encoders_tf.tasks import TextEncoder
    >>> from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
    >>> vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
    >>> config = EncoderConfig.preset("transformer-tiny", vocabulary_size=len(vocabulary), max_length=16)
    >>> model = TextEncoder(WordPieceTokenizer(vocabulary, max_length=16), build_encoder(config))
    >>> model.build()  # every weight created, so that the file holds them
    >>> save_run("runs/x", model, {"options": {"epochs": 1}})
    PosixPath('runs/x')
    >>> sorted(path.name for path in pathlib.Path("runs/x").iterdir())
    ['model.keras', 'run.json', 'vocab.txt']
    """
    from encoders_tf.text import save_vocabulary

    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    model.save(run_dir / MODEL_FILE)
    if hasattr(model.tokenizer, "get_vocabulary"):
        save_vocabulary(model.tokenizer.get_vocabulary(), run_dir / VOCABULARY_FILE)
    if metrics is not None:
        write_json(run_dir / METRICS_FILE, metrics)
    if history is not None:
        write_json(run_dir / HISTORY_FILE, {k: [float(v) for v in vs] for k, vs in history.items()})
    write_json(run_dir / RUN_FILE, {"task": type(model).__name__, **run})
    return run_dir


def read_run_info(run_dir):
    """run.json of a run directory, checked to be one (raises RunError naming what is missing)."""
    run_dir = pathlib.Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir} does not exist or is not a directory; expected a run directory (the --out of "
                       f"`encoders-tf train`, `pretrain` or `convert`)")
    for name in (MODEL_FILE, RUN_FILE):
        if not (run_dir / name).is_file():
            raise RunError(f"{run_dir} is not a run directory: {name} is missing (expected the --out of "
                           f"`encoders-tf train`, `pretrain` or `convert`)")
    try:
        return json.loads((run_dir / RUN_FILE).read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise RunError(f"{run_dir / RUN_FILE} is not valid JSON ({error}); the run directory is damaged") from None


def load_run(run_dir, task=None):
    """(task model, run.json contents) of a run directory.

    Args:
        run_dir: a run directory.
        task: a Task subclass the model must be an instance of (e.g. TextClassifier), or None for any.
    """
    import keras

    from encoders_tf import register_keras_objects

    register_keras_objects()
    run = read_run_info(run_dir)
    model = keras.models.load_model(pathlib.Path(run_dir) / MODEL_FILE)
    if task is not None and not isinstance(model, task):
        raise RunError(f"{run_dir} holds a {type(model).__name__} (task {run.get('task')!r}); this command needs a "
                       f"{task.__name__} run")
    return model, run


def write_json(path, value):
    pathlib.Path(path).write_text(json.dumps(value, indent=2) + "\n")
