"""What every training driver (train, train --task tokens, pretrain) does the same way: the strategy, the
precision, the tokenizer and encoder to start from, the optimizer, and the timed, resumable fit."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import ClassVar

import keras
import numpy as np

from encoders_tf.config import EncoderConfig
from encoders_tf.distribute import explain_peer_failures, is_chief, per_replica_batch, strategy_from_flag
from encoders_tf.encoders import build_encoder
from encoders_tf.errors import InputError
from encoders_tf.layers import longer_position_table
from encoders_tf.text import WordPieceTokenizer
from encoders_tf.training.backup import read_position
from encoders_tf.training.loop import fit
from encoders_tf.training.optimizers import fine_tuning_optimizer
from encoders_tf.training.runs import BACKUP_DIRECTORY, load_run, read_run_info, save_run

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
DEFAULT_LEARNING_RATES = {"lstm": 1e-3, "transformer": 5e-4, "pretrained": 3e-5}
# Options that say where a run runs, not what it computes: they may change between a kill and a restart.
WHERE = {"strategy", "devices", "tpu", "cluster_resolver", "backup_every"}


@dataclasses.dataclass
class RunOptions:
    """The options every supervised training command shares (`train`, `train --task tokens`)."""

    model: str = "lstm"
    dataset: str = "tweets"
    data_dir: str | None = None
    epochs: int = 3
    batch_size: int = 64
    # Tokens per text, specials included; None: `default_max_length` for a new model, the run's own with `init`
    # (longer than its positions: see `tokenizer_and_encoder`).
    max_length: int | None = None
    default_max_length: ClassVar[int] = 64
    learning_rate: float | None = None
    vocabulary_size: int = 8000
    seed: int = 0
    # The training batches' order (default: from `seed`). Runs that differ only in it start from the same weights
    # and see the data in other orders: the members of a model soup (encoders_tf.training.average).
    order_seed: int | None = None
    max_examples: int | None = None
    validation_fraction: float = 0.1  # of the training split's texts; 0: train on all of it, no validation
    out: str | None = None
    init: str | None = None  # a run directory (trained, pretrained, converted) to fine-tune from
    reinit_layers: int = 0  # with `init`: the top N Transformer blocks start from new random weights
    pooling: str | None = None  # a new encoder's pooled_output (default: the preset's); not with `init`
    group_by_length: bool = False  # training batches of texts of similar length (encoders_tf.data.by_length)
    # The fine-tuning recipe (AdamW, warm-up, decay, clipping): on with `init` or when any of these is given;
    # None takes its default then (0.1, 0.01, 1.0).
    warmup: float | None = None
    weight_decay: float | None = None
    clip_norm: float | None = None
    ema: float | None = None  # momentum of an average of the weights, which validation reads and the run keeps
    dropout: float | None = None  # the encoder's own dropout (default: the preset's, or the --init run's)
    attention_dropout: float | None = None  # a Transformer's dropout on attention probabilities (same default)
    head_dropout: float = 0.1
    strategy: str = "auto"
    devices: tuple | None = None
    tpu: str | None = None  # the Cloud TPU for strategy "tpu" (default $TPU_NAME, else this TPU VM's)
    cluster_resolver: str = "tf_config"  # where strategy "multi_worker" finds its cluster: tf_config or slurm
    precision: str = "float32"  # a Keras dtype policy; mixed_float16 gets loss scaling
    # Preemption backup every N steps, besides every epoch end (None: epoch ends only). Epochs of large data
    # sets last hours; 100 steps bounds the work a kill loses to minutes, while a save (the weights and
    # Adam's two moments: 17 MB for the demo Transformer, 0.05 s here) costs under 1% of 100 steps.
    backup_every: int | None = 100

    def epoch_seed(self, epoch: int) -> int:
        """The seed of epoch `epoch`'s batch order: `seed + epoch`, or one drawn from (`order_seed`, `epoch`)."""
        if self.order_seed is None:
            return self.seed + epoch
        return int(np.random.SeedSequence([self.order_seed, epoch]).generate_state(1)[0])


def start(options, verbose):
    """Checks the options every driver shares, then creates the strategy (first: a multi-worker strategy must
    exist before TensorFlow runs anything) and says what it is."""
    if options.precision not in PRECISIONS:
        raise InputError(f"unknown precision {options.precision!r}; accepted: {', '.join(PRECISIONS)}")
    if getattr(options, "early_stopping", None) and not options.validation_fraction:
        raise InputError("--early-stopping needs a validation split, and --validation-fraction 0 leaves none; "
                         "accepted: --early-stopping with a fraction in (0, 1), or --validation-fraction 0 "
                         "with a fixed number of --epochs")
    if getattr(options, "ema", None) and getattr(options, "early_stopping", None):
        raise InputError("--ema with --early-stopping: early stopping would keep an epoch's raw weights, not their "
                         "average; accepted: --ema with a fixed number of --epochs")
    if getattr(options, "init", None):
        _check_reinit_layers(options, read_run_info(options.init))  # a wrong path fails at once, before any data
    elif getattr(options, "reinit_layers", 0):
        raise InputError("--reinit-layers starts the top blocks of a pretrained encoder anew, and there is none "
                         "without --init; accepted: --reinit-layers N with --init RUN_DIR")
    _check_pooling(options)
    strategy = strategy_from_flag(options.strategy, devices=options.devices, tpu=options.tpu,
                                  cluster_resolver=options.cluster_resolver)
    per_replica = per_replica_batch(options.batch_size, strategy)
    if verbose:
        print(f"strategy {type(strategy).__name__}: {strategy.num_replicas_in_sync} replica(s), global batch "
              f"{options.batch_size}, {per_replica} per replica", flush=True)
    return strategy


def _check_reinit_layers(options, run):
    layers = getattr(options, "reinit_layers", 0)
    if not layers:
        return
    config = EncoderConfig.from_dict(run["encoder_config"])
    if config.architecture != "transformer" or config.share_layers:
        kind = "its blocks share one set of weights" if config.share_layers else f"it is an {config.architecture}"
        raise InputError(f"--reinit-layers {layers}: the --init run's encoder has no separate blocks to start "
                         f"anew ({kind}); accepted: a Transformer encoder without shared layers")
    if layers > config.num_layers:
        raise InputError(f"--reinit-layers {layers}: the --init run's encoder has {config.num_layers} blocks; "
                         f"accepted: 1 to {config.num_layers}")


def _check_pooling(options):
    if getattr(options, "pooling", None) is None:  # pretrain has no --pooling
        return
    model, flag = options.model, "--model"
    if getattr(options, "init", None):  # the run's encoder, pooled anew (a pretrained one has no pooled head yet)
        model, flag = read_run_info(options.init)["encoder_config"]["architecture"], "the --init run's encoder"
    try:
        EncoderConfig.preset(model, pooling=options.pooling)
    except ValueError as error:
        raise InputError(f"--pooling for {flag} {model}: {error}") from None


@contextlib.contextmanager
def dtype_policy(precision):
    """The Keras dtype policy `precision` for the layers built inside; the previous one restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def tokenizer_and_encoder(options, vocabulary, tokenizer=None, **overrides):
    """(tokenizer, encoder, EncoderConfig) to train: those of the run `options.init` (trained, pretrained or
    converted), else `tokenizer` (default: a WordPiece tokenizer on `vocabulary`) and a new encoder of the
    preset `options.model` with the config `overrides`. Call under the strategy's scope."""
    if getattr(options, "init", None):
        model, run = load_run(options.init)
        config = EncoderConfig.from_dict(run["encoder_config"])
        tokenizer = model.tokenizer
        if options.max_length and options.max_length != tokenizer.max_length:
            tokenizer = resized_tokenizer(tokenizer, options.max_length)
        changes = _encoder_changes(options, config)
        encoder = model.encoder
        if changes or keras.config.dtype_policy().name != encoder.dtype_policy.name:
            # Another pooling, dropout or length, or another precision (`--precision`, set around this call:
            # the loaded encoder keeps the policy it was saved with, its sublayers would take the new one):
            # built anew, the same weights.
            config = config.replace(**changes)
            encoder = _rebuilt(encoder, config)
        if getattr(options, "reinit_layers", 0):
            _reinitialize_top_blocks(encoder, config, options.reinit_layers)
        return tokenizer, encoder, config
    max_length = new_max_length(options)
    if tokenizer is None:
        tokenizer = WordPieceTokenizer(vocabulary, max_length=max_length, name="tokenizer")
    config = EncoderConfig.preset(options.model, max_length=max_length,
                                  vocabulary_size=tokenizer.vocabulary_size)
    config = config.replace(**_encoder_changes(options, config),
                            **{key: value for key, value in overrides.items() if key in _applicable(config)})
    return tokenizer, build_encoder(config, name="encoder"), config


def new_max_length(options):
    """The tokens per text of a new model: `options.max_length`, else its command's default."""
    return options.max_length or options.default_max_length


def resized_tokenizer(tokenizer, max_length):
    """A new tokenizer layer like `tokenizer`, cutting at `max_length`."""
    config = {**tokenizer.get_config(), "max_length": max_length, "name": "tokenizer"}
    return type(tokenizer).from_config(config)


def _encoder_changes(options, config):
    """The config fields the flags `--pooling`, `--dropout`, `--attention-dropout` and `--max-length` change: a
    length beyond the positions of a Transformer with absolute ones gives it more (LSTMs and relative positions
    have no limit)."""
    flags = {name: getattr(options, name, None) for name in ("pooling", "dropout", "attention_dropout")}
    if flags["attention_dropout"] is not None and config.architecture != "transformer":
        raise InputError(f"--attention-dropout applies to Transformer encoders; this encoder is an "
                         f"{config.architecture.upper()} (its dropout is --dropout)")
    changes = {key: value for key, value in flags.items() if value is not None and value != getattr(config, key)}
    if (config.architecture == "transformer" and config.position_embedding != "relative" and options.max_length
            and options.max_length > config.max_length):
        changes["max_length"] = options.max_length
    return changes


def _rebuilt(encoder, config):
    """A copy of `encoder` built as `config` says under the current dtype policy: the same weights (a new
    pooling layer's own, "weighted" or "pooler", start new; a longer learned position table is filled with
    copies of the trained one, see `longer_position_table`)."""
    rebuilt = _built_encoder(config, encoder.name)
    weights = {weight.path: weight for weight in encoder.weights}
    for weight in rebuilt.weights:
        if weight.path not in weights:
            continue
        value = weights[weight.path]
        if tuple(value.shape) != tuple(weight.shape):  # only the position table's rows can differ
            value = longer_position_table(keras.ops.convert_to_numpy(value), config.max_length,
                                          config.position_offset)
        weight.assign(value)
    return rebuilt


def _built_encoder(config, name):
    """A new encoder of `config`, every weight created."""
    encoder = build_encoder(config, name=name)
    encoder.build({"token_ids": (None, None), "padding_mask": (None, None)})
    return encoder


def _reinitialize_top_blocks(encoder, config, layers):
    """Gives the top `layers` blocks of `encoder` the random weights a new encoder of `config` starts with:
    a pretrained model's top blocks are the most specific to its pretraining task, and on small data sets fresh
    ones often fine-tune better (Zhang et al. 2021, "Revisiting Few-sample BERT Fine-tuning")."""
    fresh = _built_encoder(config, encoder.name)
    for block, new_block in zip(encoder.blocks[-layers:], fresh.blocks[-layers:]):
        for weight, new_weight in zip(block.weights, new_block.weights):
            weight.assign(new_weight)


def _applicable(config):
    return {"type_vocabulary_size", "embedding_size"} if config.architecture == "transformer" else {"embedding_size"}


def optimizer_for(options, architecture, total_steps):
    """(optimizer, its description for run.json).

    Fine-tuning (`options.init`, or any of `warmup`, `weight_decay`, `clip_norm` given) gets AdamW with
    linear warm-up and decay, weight decay and clipping (defaults 0.1, 0.01, 1.0); training from scratch,
    Adam at a constant rate. The learning rate defaults by what is trained (DEFAULT_LEARNING_RATES).
    """
    tuned = (options.warmup, options.weight_decay, options.clip_norm)
    ema = getattr(options, "ema", None)
    fine_tuning = bool(getattr(options, "init", None)) or any(value is not None for value in (*tuned, ema))
    learning_rate = options.learning_rate or DEFAULT_LEARNING_RATES[
        "pretrained" if getattr(options, "init", None) else architecture]
    if not fine_tuning:
        return keras.optimizers.Adam(learning_rate), {"name": "adam", "learning_rate": learning_rate}
    warmup, weight_decay, clip_norm = (default if value is None else value
                                       for value, default in zip(tuned, (0.1, 0.01, 1.0)))
    recipe = {"name": "adamw", "learning_rate": learning_rate, "total_steps": total_steps, "warmup": warmup,
              "weight_decay": weight_decay, "clip_norm": clip_norm, **({"ema": ema} if ema else {})}
    optimizer = fine_tuning_optimizer(learning_rate, total_steps, warmup=warmup, weight_decay=weight_decay,
                                      clip_norm=clip_norm or None, ema=ema)
    return optimizer, recipe


def resumable_fit(model, train, options, strategy, run_dir, verbose, **fit_arguments):
    """(History, training seconds) of `encoders_tf.training.loop.fit` with the run's backups in
    RUN_DIR/backup; the seconds include those trained before a kill. A lost worker raises PeerLostError."""
    resumed = read_position(run_dir / BACKUP_DIRECTORY) or {}
    started = time.perf_counter()
    identity = {key: value for key, value in dataclasses.asdict(options).items() if key not in WHERE}
    if getattr(model.optimizer, "use_ema", False) and fit_arguments.get("validation_data") is not None:
        # Validation reads the averaged weights, the ones the run ends with (the loop finalizes them).
        fit_arguments["callbacks"] = [keras.callbacks.SwapEMAWeights(), *fit_arguments.get("callbacks", ())]
    with explain_peer_failures(strategy):
        history = fit(model, train, epochs=options.epochs, verbose=verbose, backup_dir=run_dir / BACKUP_DIRECTORY,
                      backup_every=options.backup_every, strategy=strategy, backup_identity=identity,
                      **fit_arguments)
    return history, resumed.get("seconds", 0.0) + time.perf_counter() - started


def finish(options, strategy, run_dir, model, history, *, recipe, config, data, train_seconds, ms_per_example,
           metrics, **facts):
    """Writes the run directory (on the chief only) and returns run.json's contents: the options, the optimizer
    recipe, the encoder config, the data set's name and split sizes, `facts` (e.g. class names), the parameter
    count, the timings and the test metrics."""
    run = {
        "options": dataclasses.asdict(options),
        "optimizer": recipe,
        "encoder_config": config.to_dict(),
        "dataset": data.name,
        **facts,
        "split_sizes": {name: len(data.split(name)) for name in ("train", "validation", "test")},
        "parameters": int(model.count_params()),
        "train_seconds": round(train_seconds, 2),
        "ms_per_example": round(ms_per_example, 4),
        "test_metrics": metrics,
    }
    if is_chief(strategy):
        save_run(run_dir, model, run, history=history.history, metrics=metrics)
    return run
