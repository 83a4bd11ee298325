"""Train a text classifier (encoders_tf.training.loop.fit, on any strategy), evaluate it, write the run directory."""

from __future__ import annotations

import dataclasses
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from encoders_tf.data import load_dataset, to_tf_dataset
from encoders_tf.data.augment import Augmentation, augment_split
from encoders_tf.data.by_length import in_length_order, text_batches
from encoders_tf.tasks import TextClassifier
from encoders_tf.text import train_wordpiece_vocabulary
from encoders_tf.training.determinism import op_determinism
from encoders_tf.training.time_budget import TimeBudget
from encoders_tf.training.driver import (RunOptions, dtype_policy, finish, optimizer_for, resumable_fit, start,
                                         tokenizer_and_encoder)
from encoders_tf.training.metrics import classification_metrics


@dataclasses.dataclass
class TrainOptions(RunOptions):
    """What `encoders-tf train` takes; see `encoders-tf train --help`."""

    text_column: str | None = None
    text_pair_column: str | None = None  # a file's second text: the model then classifies pairs
    label_column: str | None = None
    skip_bad_rows: bool = False
    early_stopping: int | None = None  # patience in epochs; the best validation epoch's weights are kept
    budget_minutes: float | None = None  # stop training after this long (at most `epochs` epochs)
    jit_compile: bool = False  # XLA: batches are then padded to max_length, so shapes stay fixed
    # Training-text augmentation (encoders_tf.data.augment): copies per text and the probabilities of a word
    # masked, swapped, deleted, and of a copy cut to an n-gram; pairs also given with their texts swapped.
    augment_factor: int = 0
    augment_mask: float = 0.1
    augment_swap: float = 0.1
    augment_delete: float = 0.1
    augment_ngram: float = 0.25
    augment_pair_swap: bool = False

    def augmentation(self) -> Augmentation:
        return Augmentation(factor=self.augment_factor, mask=self.augment_mask, swap=self.augment_swap,
                            delete=self.augment_delete, ngram=self.augment_ngram,
                            pair_swap=self.augment_pair_swap, seed=self.seed)

    def load_data(self):
        """The data set's splits (a TextDataset) as these options carve them."""
        return load_dataset(self.dataset, data_dir=self.data_dir, text_column=self.text_column,
                            label_column=self.label_column, text_pair_column=self.text_pair_column, seed=self.seed,
                            validation_fraction=self.validation_fraction, skip_bad_rows=self.skip_bad_rows,
                            max_examples=self.max_examples)

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

    Example (trains for minutes)::

        run = train_classifier(TrainOptions(model="lstm", dataset="sst2", data_dir="../shared/data", epochs=2,
                                            out="runs/sst2-lstm"))
        run["test_metrics"]["accuracy"]
    """
    with op_determinism(not options.jit_compile):
        return _train_classifier(options, verbose)


def _train_classifier(options, verbose):
    keras.utils.set_random_seed(options.seed)
    strategy = start(options, verbose)
    data = options.load_data()
    train = augment_split(data.train, options.augmentation())  # copies keep their text's label
    vocabulary = None if options.init else train_wordpiece_vocabulary(data.train.texts, options.vocabulary_size)
    total_steps = -(-len(train) // options.batch_size) * options.epochs
    with dtype_policy(options.precision), strategy.scope():
        # Pairs: segment embeddings tell the two texts apart.
        tokenizer, encoder, config = tokenizer_and_encoder(
            options, vocabulary, **({"type_vocabulary_size": 2} if data.has_pairs else {}))
        model = TextClassifier(tokenizer, encoder, data.num_classes, class_names=data.class_names,
                               text_pair=data.has_pairs, dropout=options.head_dropout)
        optimizer, recipe = optimizer_for(options, config.architecture, total_steps)
        model.compile(optimizer=optimizer, loss=model.default_loss(), metrics=model.default_metrics(),
                      jit_compile=options.jit_compile)

    def batches(split, shuffle=False, seed=0):
        dataset = model.tokenize_dataset(to_tf_dataset(split, options.batch_size, shuffle=shuffle, seed=seed,
                                                       group_by_length=options.group_by_length))
        # XLA compiles once per shape: pad every batch to the tokenizer's max_length.
        return dataset.map(pad_to_length(model.tokenizer.max_length)) if options.jit_compile else dataset

    run_dir = options.run_dir()
    # Each epoch's order from its own seed, so a resumed run can rebuild any epoch.
    history, train_seconds = resumable_fit(
        model, lambda epoch: batches(train, shuffle=True, seed=options.epoch_seed(epoch)), options, strategy,
        run_dir, verbose, validation_data=batches(data.validation) if len(data.validation) else None,
        callbacks=classifier_callbacks(options, verbose))

    metrics, ms_per_example = evaluate_split(model, data.test, options.batch_size)
    return finish(options, strategy, run_dir, model, history, recipe=recipe, config=config, data=data,
                  train_seconds=train_seconds, ms_per_example=ms_per_example, metrics=metrics,
                  class_names=list(data.class_names), text_pair=data.has_pairs, skipped_rows=data.skipped_rows,
                  augmented=len(train) - len(data.train), xla=bool(model.jit_compile))


def classifier_callbacks(options, verbose):
    """Early stopping on validation accuracy (best weights kept) and the time budget, as the options ask."""
    callbacks = []
    if options.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                                       patience=options.early_stopping, restore_best_weights=True,
                                                       verbose=1 if verbose else 0))
    if options.budget_minutes:
        callbacks.append(TimeBudget(60 * options.budget_minutes))
    return callbacks


def pad_to_length(length):
    """A dataset map padding (features, targets) batches' [B, T] features to [B, length]."""
    def pad(features, targets):
        padded = {name: tf.pad(value, [[0, 0], [0, length - tf.shape(value)[1]]])
                  for name, value in features.items()}
        return padded, targets

    return pad


def make_predictor(model, batch_size=256):
    """A function from texts (and their pairs) to class probabilities [N, C], traced once for any batch size;
    it predicts the texts sorted by length, so batches pad little."""
    probabilities = tf.function(model.probabilities, reduce_retracing=True)

    def predict_in_order(texts, pairs):
        return np.concatenate([probabilities(*batch).numpy() for batch in text_batches(texts, pairs, batch_size)],
                              axis=0)

    return lambda texts, pairs=None: in_length_order(predict_in_order, texts, pairs)  # batches that pad little


def evaluate_split(model, split, batch_size=256):
    """(metrics dict, inference milliseconds per example) of a TextClassifier on a data split."""
    predict = make_predictor(model, batch_size)
    pairs = split.pairs
    predict(split.texts[:batch_size], None if pairs is None else pairs[:batch_size])  # trace outside the timing
    started = time.perf_counter()
    probabilities = predict(split.texts, pairs)
    ms_per_example = 1000 * (time.perf_counter() - started) / len(split.texts)
    return classification_metrics(probabilities, split.labels), ms_per_example
