"""Train a text classifier (encoders_tf.training_loop.fit, on any strategy), evaluate it, write the run directory."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from encoders_tf.backup import read_position
from encoders_tf.checkpoints.converted import load_converted
from encoders_tf.config import EncoderConfig
from encoders_tf.data import load_dataset, to_tf_dataset
from encoders_tf.distribute import explain_peer_failures, is_chief, per_replica_batch, strategy_from_flag
from encoders_tf.encoders import build_encoder
from encoders_tf.metrics import classification_metrics
from encoders_tf.tasks import (build_classifier, class_probabilities, compile_classifier, token_ids_model,
                               tokenize_dataset)
from encoders_tf.text import WordPieceTokenizer, save_vocabulary, train_wordpiece_vocabulary
from encoders_tf.training_loop import fit

MODEL_FILE = "model.keras"
RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.json"
VOCABULARY_FILE = "vocab.txt"
BACKUP_DIRECTORY = "backup"  # inside the run directory; deleted when training finishes
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
DEFAULT_LEARNING_RATES = {"lstm": 1e-3, "transformer": 5e-4, "pretrained": 3e-5}


@dataclasses.dataclass
class TrainOptions:
    """What `encoders-tf train` takes; see `encoders-tf train --help`."""

    model: str = "lstm"
    dataset: str = "tweets"
    data_dir: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    skip_bad_rows: bool = False
    epochs: int = 3
    batch_size: int = 64
    max_length: int = 64
    learning_rate: float | None = None
    vocabulary_size: int = 8000
    seed: int = 0
    max_examples: int | None = None
    out: str | None = None
    init: str | None = None  # a converted checkpoint directory to fine-tune instead of training from scratch
    strategy: str = "auto"
    devices: tuple | None = None
    tpu: str | None = None  # the Cloud TPU for strategy "tpu" (default $TPU_NAME, else this TPU VM's)
    cluster_resolver: str = "tf_config"  # where strategy "multi_worker" finds its cluster: tf_config or slurm
    precision: str = "float32"  # a Keras dtype policy; mixed_float16 gets loss scaling
    jit_compile: bool = False  # XLA: batches are then padded to max_length, so shapes stay fixed
    # Preemption backup every N steps, besides every epoch end (None: epoch ends only). Epochs of large data
    # sets last hours; 100 steps bounds the work a kill loses to minutes, while a save (the weights and
    # Adam's two moments: 17 MB for the demo Transformer, 0.05 s here) costs under 1% of 100 steps.
    backup_every: int | None = 100

    def run_dir(self) -> pathlib.Path:
        model = pathlib.Path(self.init).name if self.init else self.model
        return pathlib.Path(self.out or f"runs/{model}-{pathlib.Path(self.dataset).stem}")


def train_classifier(options: TrainOptions, verbose: int | str = "auto") -> dict:
    """Trains tokenizer + encoder + head on a data set, evaluates on its test split, writes the run.

    The run directory gets model.keras, vocab.txt, metrics.json (test metrics), history.json (per epoch)
    and run.json (options, encoder config, class names, parameter count, timings); only the chief worker
    writes. While training, `backup/` in it holds the preemption backup: the same command started again
    after a kill resumes from it, to the weights an uninterrupted run reaches.

    Args:
        options: a TrainOptions.
        verbose: Keras verbosity ("auto", 0, 1 or 2).

    Returns:
        The contents of run.json.

    Example:
    >>> train_classifier(TrainOptions(model="lstm", dataset="sst2", epochs=2, out="runs/sst2-lstm"))
    """
    with _op_determinism(not options.jit_compile):
        return _train_classifier(options, verbose)


def _train_classifier(options, verbose):
    keras.utils.set_random_seed(options.seed)
    if options.precision not in PRECISIONS:
        raise ValueError(f"unknown precision {options.precision!r}; accepted: {', '.join(PRECISIONS)}")
    data = load_dataset(options.dataset, data_dir=options.data_dir, text_column=options.text_column,
                        label_column=options.label_column, seed=options.seed,
                        skip_bad_rows=options.skip_bad_rows, max_examples=options.max_examples)
    strategy = strategy_from_flag(options.strategy, devices=options.devices, tpu=options.tpu,
                                  cluster_resolver=options.cluster_resolver)
    per_replica = per_replica_batch(options.batch_size, strategy)
    if verbose:
        print(f"strategy {type(strategy).__name__}: {strategy.num_replicas_in_sync} replica(s), global batch "
              f"{options.batch_size}, {per_replica} per replica", flush=True)
    vocabulary = None if options.init else train_wordpiece_vocabulary(data.train.texts, options.vocabulary_size)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(options.precision)  # for the layers built below; restored after
    try:
        model, trainable, config, learning_rate = _build(options, strategy, data.num_classes, vocabulary)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    tokenizer = model.get_layer("tokenizer")
    if options.jit_compile:  # XLA compiles once per shape: pad every training batch to max_length
        tokenizer = tokenizer.__class__.from_config({**tokenizer.get_config(), "pad_to_max_length": True})

    def train(epoch):  # each epoch's order from its own seed, so a resumed run can rebuild any epoch
        return tokenize_dataset(to_tf_dataset(data.train, options.batch_size, shuffle=True,
                                              seed=options.seed + epoch), tokenizer)

    validation = tokenize_dataset(to_tf_dataset(data.validation, options.batch_size), tokenizer)
    run_dir = options.run_dir()
    resumed = read_position(run_dir / BACKUP_DIRECTORY) or {}  # a killed run's training time counts too
    started = time.perf_counter()
    with explain_peer_failures(strategy):  # a lost worker: a PeerLostError naming it, not a hang
        history = fit(trainable, train, validation_data=validation, epochs=options.epochs, verbose=verbose,
                      backup_dir=run_dir / BACKUP_DIRECTORY, backup_every=options.backup_every, strategy=strategy,
                      backup_identity=_run_identity(options))
    train_seconds = resumed.get("seconds", 0.0) + time.perf_counter() - started

    metrics, ms_per_example = evaluate_split(model, data.test, options.batch_size)
    run = {
        "options": dataclasses.asdict(options),
        "learning_rate": learning_rate,
        "encoder_config": config.to_dict(),
        "dataset": data.name,
        "class_names": list(data.class_names),
        "split_sizes": {name: len(data.split(name)) for name in ("train", "validation", "test")},
        "skipped_rows": data.skipped_rows,
        "parameters": int(model.count_params()),
        "xla": bool(trainable.jit_compile),
        "train_seconds": round(train_seconds, 2),
        "ms_per_example": round(ms_per_example, 4),
        "test_metrics": metrics,
    }
    if is_chief(strategy):
        run_dir.mkdir(parents=True, exist_ok=True)
        model.save(run_dir / MODEL_FILE)
        save_vocabulary(model.get_layer("tokenizer").get_vocabulary(), run_dir / VOCABULARY_FILE)
        _write_json(run_dir / METRICS_FILE, metrics)
        _write_json(run_dir / HISTORY_FILE, {k: [float(v) for v in vs] for k, vs in history.history.items()})
        _write_json(run_dir / RUN_FILE, run)
    return run


def _run_identity(options):
    """The options that decide a run's numbers: a backup is resumed only by a run with the same ones. Where
    it runs (strategy, devices, cluster) and how often it backs up may change between a kill and a restart."""
    where = {"strategy", "devices", "tpu", "cluster_resolver", "backup_every"}
    return {key: value for key, value in dataclasses.asdict(options).items() if key not in where}


@contextlib.contextmanager
def _op_determinism(enabled):
    """Deterministic ops (same seed, same weights) inside, except under XLA: Keras turns `jit_compile` off
    when they are on, since XLA does not implement every op deterministically. Restored after."""
    from tensorflow.python.framework import config as tf_config  # disable_op_determinism is not exported

    was_enabled = tf_config.is_op_determinism_enabled()
    (tf_config.enable_op_determinism if enabled else tf_config.disable_op_determinism)()
    try:
        yield
    finally:
        (tf_config.enable_op_determinism if was_enabled else tf_config.disable_op_determinism)()


def _build(options, strategy, num_classes, vocabulary):
    """(text model, its token-ids model compiled for training, encoder config, learning rate), under `strategy`."""
    with strategy.scope():
        if options.init:  # fine-tune a converted pretrained checkpoint: its tokenizer and encoder as they are
            tokenizer, encoder, config = load_converted(options.init)
            default_learning_rate = DEFAULT_LEARNING_RATES["pretrained"]
        else:
            config = EncoderConfig.preset(options.model, max_length=options.max_length,
                                          vocabulary_size=len(vocabulary))
            tokenizer = WordPieceTokenizer(vocabulary, max_length=options.max_length, name="tokenizer")
            encoder = build_encoder(config, name="encoder")
            default_learning_rate = DEFAULT_LEARNING_RATES[config.architecture]
        model = build_classifier(tokenizer, encoder, num_classes)
        learning_rate = options.learning_rate or default_learning_rate
        # Training runs on token ids; the tokenizer works in the tf.data pipeline (see token_ids_model).
        trainable = compile_classifier(token_ids_model(model), learning_rate, jit_compile=options.jit_compile)
    return model, trainable, config, learning_rate


def make_predictor(model, batch_size=256):
    """A function from a list of texts to class probabilities [N, C], traced once for any batch size."""
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def probabilities(text):
        return class_probabilities(model(text, training=False))

    def predict(texts):
        texts = tf.constant(list(texts), dtype=tf.string)
        batches = tf.data.Dataset.from_tensor_slices(texts).batch(batch_size)
        return np.concatenate([probabilities(batch).numpy() for batch in batches], axis=0)

    return predict


def evaluate_split(model, split, batch_size=256):
    """(metrics dict, inference milliseconds per example) of `model` on a data split."""
    predict = make_predictor(model, batch_size)
    predict(split.texts[:batch_size])  # trace once, outside the timing
    started = time.perf_counter()
    probabilities = predict(split.texts)
    ms_per_example = 1000 * (time.perf_counter() - started) / len(split.texts)
    return classification_metrics(probabilities, split.labels), ms_per_example


def load_run(run_dir):
    """(model, run.json contents) of a run directory written by `train_classifier`."""
    run_dir = pathlib.Path(run_dir)
    for name in (MODEL_FILE, RUN_FILE):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir} is not a training run: {name} is missing "
                                    f"(expected the --out directory of `encoders-tf train`)")
    run = json.loads((run_dir / RUN_FILE).read_text())
    return keras.models.load_model(run_dir / MODEL_FILE), run


def _write_json(path, value):
    path.write_text(json.dumps(value, indent=2) + "\n")
