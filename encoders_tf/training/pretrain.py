"""Pretrain an encoder from scratch with masked-LM (encoders_tf.training.loop.fit, on any strategy); write the run.

The text (a named data set's splits, a text file or a directory) is split by document into a training part and
a held-out slice; a WordPiece vocabulary (with [MASK]) is trained on the training part; every document is cut
into max_length windows; each epoch masks the training windows afresh (dynamic masking) while the held-out
windows keep one set of masks, so their masked-token accuracy and perplexity compare across epochs.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import ClassVar

import keras
import numpy as np

from encoders_tf.config import PRESETS
from encoders_tf.data import DataError
from encoders_tf.data.corpus import load_corpus
from encoders_tf.distribute import is_chief
from encoders_tf.errors import InputError
from encoders_tf.tasks import MaskedLanguageModel
from encoders_tf.text import SPECIAL_TOKENS, train_wordpiece_vocabulary
from encoders_tf.text.windows import document_windows
from encoders_tf.training.determinism import op_determinism
from encoders_tf.training.driver import dtype_policy, optimizer_for, resumable_fit, start, tokenizer_and_encoder
from encoders_tf.training.runs import load_run, read_run_info, save_run

HELD_OUT_SEED_OFFSET = 10_000  # the held-out masks' seed: seed + this, apart from every epoch's (seed + epoch)


@dataclasses.dataclass
class PretrainOptions:
    """What `encoders-tf pretrain` takes: one text source (dataset+split, text_file or text_dir), the model
    preset and the masked-LM recipe (AdamW, linear warm-up then linear decay to 0, clipping)."""

    model: str = "transformer"  # any preset of encoders_tf.config.PRESETS
    init: str | None = None  # or a run directory (pretrained, converted) to continue pretraining: its tokenizer
    #                          (with [MASK]) and encoder; model and vocabulary_size are then its own, and
    #                          max_length too when None (a longer one extends its learned positions)
    dataset: str | None = None  # a named data set ...
    split: str = "train"  # ... and its splits, comma-separated ("unsup,train" for IMDB)
    text_file: str | None = None  # or a text file, one document a line
    text_dir: str | None = None  # or a directory of .txt files, one document a file
    data_dir: str | None = None
    max_documents: int | None = None  # keep the first N documents (quick runs)
    held_out: float = 0.05  # share of the documents held out for the per-epoch accuracy and perplexity
    max_length: int | None = None  # None: `default_max_length`, or the init run's own
    default_max_length: ClassVar[int] = 128
    vocabulary_size: int = 8000
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float | None = None  # peak; default 5e-4 (Transformer), 1e-3 (LSTM), 3e-5 (--init)
    warmup: float = 0.1  # share of the steps warming up
    weight_decay: float = 0.01
    clip_norm: float = 1.0  # global gradient norm clipping; 0: none
    mask_rate: float = 0.15  # share of each window's tokens predicted (80% [MASK], 10% random, 10% kept)
    seed: int = 0
    out: str | None = None
    strategy: str = "auto"
    devices: tuple | None = None
    tpu: str | None = None
    cluster_resolver: str = "tf_config"
    precision: str = "float32"
    jit_compile: bool = False
    backup_every: int | None = 100

    def run_dir(self) -> pathlib.Path:
        source = self.dataset or pathlib.Path(self.text_file or self.text_dir or "text").stem
        model = pathlib.Path(self.init).name if self.init else self.model
        return pathlib.Path(self.out or f"runs/pretrain-{model}-{source}")


def pretrain(options: PretrainOptions, verbose: int | str = "auto") -> dict:
    """Pretrains tokenizer + encoder with masked-LM on raw text and writes the run directory.

    The run directory gets model.keras (the MaskedLanguageModel: `train --init` takes its `tokenizer` and
    `encoder`), vocab.txt, history.json (per epoch: loss, masked_accuracy, perplexity and their val_ values
    on the held-out slice), metrics.json (the held-out numbers after the last epoch) and run.json (options,
    optimizer, encoder config, corpus sizes, timings). Only the chief worker writes; `backup/` in it lets the
    same command resume after a kill, as `train` does.

    Args:
        options: a PretrainOptions.
        verbose: Keras verbosity ("auto", 0, 1 or 2).

    Returns:
        The contents of run.json.

    Raises:
        InputError (DataError among them): a bad option, no text, or too little to hold a slice out.

    Example (trains for minutes)::

        run = pretrain(PretrainOptions(model="transformer", dataset="imdb", split="unsup", max_documents=5000,
                                       data_dir="../shared/data", out="runs/pretrain-imdb"))
        run["held_out_metrics"]["perplexity"]
    """
    with op_determinism(not options.jit_compile):
        return _pretrain(options, verbose)


def _continue_head(model, run_dir):
    """A pretraining run continued keeps its masked-LM head (dense, LayerNorm, output bias): a new head would
    start the loss over from a random decoder. A converted or trained run has none; the head starts anew."""
    if read_run_info(run_dir).get("task") != MaskedLanguageModel.__name__:
        return
    previous, _ = load_run(run_dir, task=MaskedLanguageModel)
    model.build_head()
    model.head.set_weights(previous.head.get_weights())


def _pretrain(options, verbose):
    _check(options)
    keras.utils.set_random_seed(options.seed)
    strategy = start(options, verbose)  # first: a multi-worker strategy must exist before TensorFlow runs
    corpus = load_corpus(options.dataset, splits=options.split, text_file=options.text_file,
                         text_dir=options.text_dir, data_dir=options.data_dir, max_documents=options.max_documents)
    train_documents, held_out_documents = hold_out(corpus.documents, options.held_out, options.seed, corpus.source)
    vocabulary = None if options.init else train_wordpiece_vocabulary(train_documents, options.vocabulary_size)
    with dtype_policy(options.precision), strategy.scope():
        tokenizer, encoder, config = tokenizer_and_encoder(options, vocabulary)
        model = MaskedLanguageModel(tokenizer, encoder, mask_selection_rate=options.mask_rate)
        if options.init:
            _continue_head(model, options.init)
        train_windows = document_windows(tokenizer, train_documents)
        held_out_windows = document_windows(tokenizer, held_out_documents)
        steps_per_epoch = -(-len(train_windows["token_ids"]) // options.batch_size)
        optimizer, recipe = optimizer_for(options, config.architecture, steps_per_epoch * options.epochs)
        model.compile(optimizer=optimizer, loss=model.default_loss(), weighted_metrics=model.default_metrics(),
                      jit_compile=options.jit_compile)
    if verbose:
        print(f"{corpus.source}: {len(train_documents)} documents ({len(train_windows['token_ids'])} windows of "
              f"{tokenizer.max_length} ids) to train on, {len(held_out_documents)} held out "
              f"({len(held_out_windows['token_ids'])} windows); vocabulary {tokenizer.vocabulary_size}; "
              f"{steps_per_epoch} steps an epoch", flush=True)

    def train(epoch):  # each epoch its own order and masks, from its own seed: a resumed run rebuilds any epoch
        return model.pretraining_dataset(train_windows, options.batch_size, seed=options.seed + epoch, shuffle=True)

    held_out = model.pretraining_dataset(held_out_windows, options.batch_size,
                                         seed=options.seed + HELD_OUT_SEED_OFFSET)
    run_dir = options.run_dir()
    history, train_seconds = resumable_fit(model, train, options, strategy, run_dir, verbose,
                                           validation_data=held_out)
    final = {name[len("val_"):]: values[-1] for name, values in history.history.items() if name.startswith("val_")}
    run = {
        "options": dataclasses.asdict(options),
        "optimizer": recipe,
        "encoder_config": config.to_dict(),
        "corpus": corpus.source,
        "documents": {"train": len(train_documents), "held_out": len(held_out_documents)},
        "windows": {"train": int(len(train_windows["token_ids"])), "held_out": int(len(held_out_windows["token_ids"]))},
        "vocabulary_size": tokenizer.vocabulary_size,
        "mask_selection_length": model.mask_selection_length,
        "parameters": int(model.count_params()),
        "xla": bool(model.jit_compile),
        "steps": steps_per_epoch * options.epochs,
        "train_seconds": round(train_seconds, 2),
        "ms_per_step": round(1000 * train_seconds / max(1, steps_per_epoch * options.epochs), 2),
        "held_out_metrics": final,
    }
    if is_chief(strategy):
        save_run(run_dir, model, run, history=history.history, metrics=final)
    return run


def _check(options):
    if not options.init and options.model not in PRESETS:
        raise InputError(f"unknown model {options.model!r}; accepted: {', '.join(PRESETS)}")
    if not 0.0 < options.held_out < 1.0:
        raise InputError(f"held_out must be a fraction in (0, 1), got {options.held_out!r}")
    if not 0.0 < options.mask_rate < 1.0:
        raise InputError(f"mask_rate must be a fraction in (0, 1), got {options.mask_rate!r}")
    if options.max_length is not None and (not isinstance(options.max_length, int) or options.max_length < 3):
        raise InputError(f"max_length must be an integer of at least 3 ([CLS], a token, [SEP]), got "
                         f"{options.max_length!r}")
    smallest = len(SPECIAL_TOKENS) + 2
    if isinstance(options.vocabulary_size, bool) or not isinstance(options.vocabulary_size, int) or (
            options.vocabulary_size < smallest):
        raise InputError(f"vocabulary_size must be an integer of at least {smallest} (the special tokens "
                         f"{', '.join(SPECIAL_TOKENS)} and one character), got {options.vocabulary_size!r}")
    for name in ("epochs", "batch_size"):
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive integer, got {value!r}")


def hold_out(documents, fraction, seed, source="the text"):
    """(training documents, held-out documents): a `fraction` of the documents, at least one, chosen by `seed`;
    whole documents, so that no held-out window shares a document with a training window. Both keep the
    documents' order.

    Raises:
        DataError: fewer than 2 documents.

    Example:
    >>> hold_out(["a", "b", "c", "d"], 0.25, seed=0)
    (['a', 'b', 'd'], ['c'])
    """
    if len(documents) < 2:
        raise DataError(f"{source}: {len(documents)} document(s); pretraining needs at least 2, to hold some "
                        f"out for the held-out accuracy and perplexity")
    count = min(len(documents) - 1, max(1, round(fraction * len(documents))))
    chosen = np.zeros(len(documents), bool)
    chosen[np.random.default_rng(seed).permutation(len(documents))[:count]] = True
    return ([d for d, out in zip(documents, chosen) if not out], [d for d, out in zip(documents, chosen) if out])
