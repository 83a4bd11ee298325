"""Train a token classifier (encoders_tf.training.loop.fit, on any strategy), evaluate it with entity-level
F1, write the run directory."""

from __future__ import annotations

import dataclasses
import pathlib
import time
from typing import ClassVar

import keras
import tensorflow as tf

from encoders_tf.data.tagging import TaggedSplit, load_tagged_dataset, tagged_tf_dataset
from encoders_tf.tasks import TokenClassifier
from encoders_tf.text import train_wordpiece_vocabulary
from encoders_tf.training.determinism import op_determinism
from encoders_tf.training.driver import (RunOptions, dtype_policy, finish, optimizer_for, resumable_fit, start,
                                         tokenizer_and_encoder)
from encoders_tf.training.entities import entity_metrics


@dataclasses.dataclass
class TagOptions(RunOptions):
    """What `encoders-tf train --task tokens` takes: the shared training options, for tagging."""

    model: str = "bilstm"
    dataset: str = "conll2003"  # or the path of a CoNLL-layout file
    batch_size: int = 32
    # Pieces per sentence, [CLS] and [SEP] included; words beyond get no tag.
    default_max_length: ClassVar[int] = 128

    def load_data(self):
        """The tagged data set's splits as these options carve them."""
        return load_tagged_dataset(self.dataset, data_dir=self.data_dir, seed=self.seed,
                                   validation_fraction=self.validation_fraction, max_examples=self.max_examples)

    def run_dir(self) -> pathlib.Path:
        model = pathlib.Path(self.init).name if self.init else self.model
        return pathlib.Path(self.out or f"runs/{model}-{pathlib.Path(self.dataset).stem}-tokens")


def train_tagger(options: TagOptions, verbose: int | str = "auto") -> dict:
    """Trains tokenizer + encoder + per-word tag head, evaluates entity F1 on the test split, writes the run.

    The run directory gets model.keras (a TokenClassifier), vocab.txt, metrics.json (entity-level precision,
    recall, F1 micro and per type, token accuracy, on the test split: CoNLL-2003's valid.txt), history.json
    and run.json; only the chief worker writes. A killed run started again resumes from `backup/`.

    Args:
        options: a TagOptions.
        verbose: Keras verbosity ("auto", 0, 1 or 2).

    Returns:
        The contents of run.json.

    Example (trains for minutes)::

        run = train_tagger(TagOptions(dataset="conll2003", data_dir="../shared/data", epochs=1, out="runs/ner"))
        run["test_metrics"]["f1"]
    """
    with op_determinism(True):
        return _train_tagger(options, verbose)


def _train_tagger(options, verbose):
    keras.utils.set_random_seed(options.seed)
    strategy = start(options, verbose)
    data = options.load_data()
    vocabulary = None if options.init else train_wordpiece_vocabulary(data.train.texts, options.vocabulary_size)
    total_steps = -(-len(data.train) // options.batch_size) * options.epochs
    with dtype_policy(options.precision), strategy.scope():
        tokenizer, encoder, config = tokenizer_and_encoder(options, vocabulary)
        model = TokenClassifier(tokenizer, encoder, data.tag_names, dropout=options.head_dropout)
        optimizer, recipe = optimizer_for(options, config.architecture, total_steps)
        model.compile(optimizer=optimizer, loss=model.default_loss(), metrics=model.default_metrics())

    def batches(split, shuffle=False, seed=0):
        return model.tokenize_dataset(tagged_tf_dataset(split, options.batch_size, shuffle=shuffle, seed=seed,
                                                        group_by_length=options.group_by_length))

    run_dir = options.run_dir()
    history, train_seconds = resumable_fit(
        model, lambda epoch: batches(data.train, shuffle=True, seed=options.epoch_seed(epoch)), options, strategy,
        run_dir, verbose, validation_data=batches(data.validation) if len(data.validation) else None)

    metrics, ms_per_example = evaluate_tagger(model, data.test, options.batch_size)
    return finish(options, strategy, run_dir, model, history, recipe=recipe, config=config, data=data,
                  train_seconds=train_seconds, ms_per_example=ms_per_example, metrics=metrics,
                  tag_names=list(data.tag_names))


def predict_tags(model, split: TaggedSplit, batch_size=256) -> list:
    """The predicted tag names of every word of `split`'s sentences; words cut off by max_length get "O".

    Args:
        model: a TokenClassifier.
        split: the sentences.
        batch_size: sentences per batch.

    Example:
    >>> from encoders_tf import EncoderConfig, build_encoder
    >>> from encoders_tf.text import WordPieceTokenizer
    >>> vocabulary = train_wordpiece_vocabulary(["Peter left", "Anna stayed"], vocabulary_size=60)
    >>> config = EncoderConfig.preset("transformer-tiny", vocabulary_size=len(vocabulary), max_length=16)
    >>> model = TokenClassifier(WordPieceTokenizer(vocabulary, max_length=16), build_encoder(config),
    ...                         tag_names=["O", "B-PER", "I-PER"])  # untrained: its tags are arbitrary
    >>> predict_tags(model, TaggedSplit([["Peter", "left"]], [[1, 0]]))  # one tag name per word
    [['B-PER', 'B-PER']]
    """
    return _tag_split(model, split, batch_size)[0]


def _tag_split(model, split, batch_size):
    """(predicted tag names per sentence, words cut off by max_length: given "O")."""
    tag = tf.function(model.tag, input_signature=[tf.TensorSpec([None], tf.string)])
    predicted, cut = [], 0
    texts = list(split.texts)
    for begin in range(0, len(texts), batch_size):
        outputs = tag(tf.constant(texts[begin:begin + batch_size], tf.string))
        tags, counts = outputs["tags"].numpy(), outputs["word_count"].numpy()
        for row, count in zip(tags, counts):
            names = [name.decode("utf-8") for name in row[:count]]
            cut += names.count("")
            predicted.append([name or "O" for name in names])
    return predicted, cut


def evaluate_tagger(model, split: TaggedSplit, batch_size=256):
    """(entity metrics (see `encoders_tf.training.entities.entity_metrics`) plus "sentences" and "words_cut",
    inference milliseconds per sentence) of a TokenClassifier on a tagged split. Words the model cannot see
    (cut off by max_length) count as predicted "O".

    Args:
        model: a TokenClassifier.
        split: the sentences and their tag ids (in the model's `tag_names`).
        batch_size: sentences per batch.

    Example:
    >>> from encoders_tf import EncoderConfig, build_encoder
    >>> from encoders_tf.text import WordPieceTokenizer
    >>> vocabulary = train_wordpiece_vocabulary(["Peter left", "Anna stayed"], vocabulary_size=60)
    >>> config = EncoderConfig.preset("transformer-tiny", vocabulary_size=len(vocabulary), max_length=16)
    >>> model = TokenClassifier(WordPieceTokenizer(vocabulary, max_length=16), build_encoder(config),
    ...                         tag_names=["O", "B-PER", "I-PER"])  # untrained: its tags are arbitrary
    >>> split = TaggedSplit([["Peter", "left"], ["Anna", "stayed"]], [[1, 0], [1, 0]])
    >>> metrics, ms = evaluate_tagger(model, split)
    >>> metrics["sentences"], metrics["words"], metrics["entities"], sorted(metrics["per_type"])
    (2, 4, 2, ['PER'])
    """
    names = model.tag_names
    gold = [[names[i] for i in tags] for tags in split.tags]
    _tag_split(model, split.take(range(min(len(split), batch_size))), batch_size)  # trace outside the timing
    started = time.perf_counter()
    predicted, cut = _tag_split(model, split, batch_size)
    ms_per_example = 1000 * (time.perf_counter() - started) / max(1, len(split))
    metrics = entity_metrics(gold, predicted)  # raises if a sentence's word count differs
    return {**metrics, "sentences": len(split), "words_cut": cut}, ms_per_example
