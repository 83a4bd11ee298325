"""`encoders-tf distill`: a student classifier trained from scratch on a teacher classifier's logits (cached),
the true labels and an augmented transfer set; the result is an ordinary classifier run."""

from __future__ import annotations

import dataclasses
import pathlib

import keras
import numpy as np

from encoders_tf.data import Split, to_tf_dataset
from encoders_tf.data.augment import augment_split
from encoders_tf.data.transfer import load_transfer_texts
from encoders_tf.errors import InputError
from encoders_tf.tasks import Distillation, TextClassifier
from encoders_tf.text import train_wordpiece_vocabulary
from encoders_tf.training.classifier import TrainOptions, classifier_callbacks, evaluate_split, pad_to_length
from encoders_tf.training.determinism import op_determinism
from encoders_tf.training.driver import (dtype_policy, finish, new_max_length, optimizer_for, resized_tokenizer,
                                         resumable_fit, start, tokenizer_and_encoder)
from encoders_tf.training.runs import load_run, read_run_info
from encoders_tf.training.teacher_logits import teacher_logits

STUDENT_VOCABULARIES = ("train", "teacher")
STUDENT_EMBEDDINGS = ("random", "teacher")


@dataclasses.dataclass
class DistillOptions(TrainOptions):
    """What `encoders-tf distill` takes (`model` is the student preset); see `encoders-tf distill --help`."""

    teacher: str = ""  # a classifier run directory
    student_vocabulary: str = "train"  # train: WordPiece trained on the training texts; teacher: its tokenizer
    # random: a new token embedding; teacher: the teacher's token embedding matrix (and width) to start from, as
    # Tang et al.'s BiLSTM starts from word2vec vectors (needs the teacher's vocabulary)
    student_embeddings: str = "random"
    alpha: float = 0.5  # weight of the true labels' cross-entropy; 1 - alpha matches the teacher
    temperature: float | None = None  # softens "kl" (default 2); "mse" takes 1
    match: str = "kl"  # kl (Hinton et al.) or mse on logits (Tang et al.)
    cache_dir: str | None = None  # cached teacher logits (default: TEACHER/cache)
    # Unlabelled texts added to the transfer set, labelled by the teacher alone: "NAME:SPLITS" (e.g. imdb:unsup),
    # a text file (one text a line) or a directory of .txt files; cut into sentences, the first N kept.
    transfer_texts: str | None = None
    transfer_sentences: bool = False
    transfer_max_texts: int | None = None

    def run_dir(self) -> pathlib.Path:
        return pathlib.Path(self.out or f"runs/distill-{self.model}-{pathlib.Path(self.dataset).stem}")


def distill(options: DistillOptions, verbose: int | str = "auto") -> dict:
    """Distils the classifier run `options.teacher` into a new `options.model` student; writes the run directory.

    The transfer set is the training split and, with `augment_factor`, its augmented copies, and with
    `transfer_texts`, unlabelled texts (never validation or test text), all labelled by the teacher's logits,
    computed once and cached. The student trains on
    `Distillation`'s loss; validation (early stopping) and the test metrics use the true labels. run.json
    records the teacher (path and SHA-256 of its weights) and the recipe.

    Args:
        options: a DistillOptions.
        verbose: Keras verbosity ("auto", 0, 1 or 2).

    Returns:
        The contents of run.json.

    Example (trains for minutes)::

        run = distill(DistillOptions(teacher="runs/sst2-minilm", model="bilstm", dataset="sst2",
                                     augment_factor=2, out="runs/sst2-bilstm-distilled"))
    """
    with op_determinism(not options.jit_compile):
        return _distill(options, verbose)


def check_options(options):
    """Refuses a bad recipe before anything is read."""
    if options.student_vocabulary not in STUDENT_VOCABULARIES:
        raise InputError(f"unknown student vocabulary {options.student_vocabulary!r}; accepted: "
                         f"{', '.join(STUDENT_VOCABULARIES)}")
    if options.student_embeddings not in STUDENT_EMBEDDINGS:
        raise InputError(f"unknown student embeddings {options.student_embeddings!r}; accepted: "
                         f"{', '.join(STUDENT_EMBEDDINGS)}")
    if options.student_embeddings == "teacher" and options.student_vocabulary != "teacher":
        raise InputError("--student-embeddings teacher needs --student-vocabulary teacher: the teacher's embedding "
                         "rows are its own tokens'")
    if not 0 <= options.alpha <= 1:
        raise InputError(f"alpha must be in [0, 1] (the weight of the true labels), got {options.alpha!r}")
    if options.match not in ("kl", "mse"):
        raise InputError(f"unknown match {options.match!r}; accepted: kl, mse")
    if options.temperature is not None and not options.temperature > 0:
        raise InputError(f"the temperature must be > 0, got {options.temperature!r}")
    if options.match == "mse" and options.temperature not in (None, 1):
        raise InputError(f"the temperature softens probabilities for --match kl; --match mse compares logits "
                         f"and takes none, got {options.temperature!r}")
    if options.init:
        raise InputError("distill trains its student from scratch; --init does not apply (fine-tune the "
                         "result with `encoders-tf train --init`)")
    if (options.transfer_sentences or options.transfer_max_texts) and not options.transfer_texts:
        raise InputError("--transfer-sentences and --transfer-max-texts shape --transfer-texts, which was not given")
    options.augmentation()  # its own checks


def _teacher_run(options):
    """The teacher's run.json, checked to be a classifier run."""
    run = read_run_info(options.teacher)
    if run.get("task") != "TextClassifier":
        raise InputError(f"--teacher {options.teacher} is a {run.get('task')} run, not a classifier run (the --out "
                         f"of `encoders-tf train` or `distill`)")
    return run


def _check_teacher_data(options, run, data):
    """The teacher must classify this data set's classes and kind of text (single texts or pairs)."""
    if list(run["class_names"]) != list(data.class_names):
        raise InputError(f"--teacher {options.teacher} knows the classes {list(run['class_names'])}, but "
                         f"{options.dataset} has {list(data.class_names)}; distil on the data set the teacher "
                         f"was trained for")
    teacher_pairs = run.get("text_pair", bool(run["options"].get("text_pair_column")) or run.get("dataset") == "mrpc")
    if teacher_pairs != data.has_pairs:
        raise InputError(f"--teacher {options.teacher} classifies {'pairs of texts' if teacher_pairs else 'single texts'}"
                         f", but {options.dataset} holds {'pairs' if data.has_pairs else 'single texts'}")


def _distill(options, verbose):
    check_options(options)
    teacher_run = _teacher_run(options)  # a wrong teacher fails at once, before the data is read
    keras.utils.set_random_seed(options.seed)
    strategy = start(options, verbose)
    data = options.load_data()
    _check_teacher_data(options, teacher_run, data)
    transfer = augment_split(data.train, options.augmentation(), copies_labelled=False)
    unlabelled = _unlabelled_transfer(options, data)
    if unlabelled is not None:
        transfer = Split(transfer.texts + unlabelled.texts,
                         np.concatenate([transfer.labels, np.full(len(unlabelled), -1, np.int64)]))
    logits, cache = teacher_logits(options.teacher, transfer.texts, transfer.pairs, cache_dir=options.cache_dir,
                                   verbose=bool(verbose))
    temperature = options.temperature or (2.0 if options.match == "kl" else 1.0)
    teacher_tokenizer, teacher_embeddings, overrides = None, None, {}
    if options.student_vocabulary == "teacher":
        teacher_model = load_run(options.teacher, TextClassifier)[0]
        teacher_tokenizer, vocabulary = teacher_model.tokenizer, None
        if options.student_embeddings == "teacher":
            teacher_embeddings = keras.ops.convert_to_numpy(teacher_model.encoder.token_embedding.embeddings)
            overrides["embedding_size"] = teacher_embeddings.shape[1]
        del teacher_model
    else:
        vocabulary = train_wordpiece_vocabulary(data.train.texts, options.vocabulary_size)
    if data.has_pairs:
        overrides["type_vocabulary_size"] = 2
    total_steps = -(-len(transfer) // options.batch_size) * options.epochs
    with dtype_policy(options.precision), strategy.scope():
        student_tokenizer = teacher_tokenizer and resized_tokenizer(teacher_tokenizer, new_max_length(options))
        tokenizer, encoder, config = tokenizer_and_encoder(options, vocabulary, tokenizer=student_tokenizer,
                                                           **overrides)
        student = TextClassifier(tokenizer, encoder, data.num_classes, class_names=data.class_names,
                                 text_pair=data.has_pairs, dropout=options.head_dropout)
        if teacher_embeddings is not None:
            student.build()
            student.encoder.token_embedding.embeddings.assign(teacher_embeddings)
        model = Distillation(student, alpha=options.alpha, temperature=temperature, matching=options.match)
        optimizer, recipe = optimizer_for(options, config.architecture, total_steps)
        # Weighted: the weights leave the teacher-labelled copies out of the accuracy.
        model.compile(optimizer=optimizer, weighted_metrics=student.default_metrics(), jit_compile=options.jit_compile)

    targets = {"label": transfer.labels, "teacher_logits": logits}

    def batches(split, shuffle=False, seed=0, targets=None):
        dataset = student.tokenize_dataset(to_tf_dataset(split, options.batch_size, shuffle=shuffle, seed=seed,
                                                         targets=targets, group_by_length=options.group_by_length))
        return dataset.map(pad_to_length(student.tokenizer.max_length)) if options.jit_compile else dataset

    run_dir = options.run_dir()
    history, train_seconds = resumable_fit(
        model, lambda epoch: batches(transfer, shuffle=True, seed=options.epoch_seed(epoch), targets=targets), options,
        strategy, run_dir, verbose, validation_data=batches(data.validation) if len(data.validation) else None,
        callbacks=classifier_callbacks(options, verbose))

    metrics, ms_per_example = evaluate_split(student, data.test, options.batch_size)
    distillation = {"teacher": str(options.teacher), "teacher_sha256": cache["key"].split("-")[0],
                    "teacher_test_metrics": teacher_run.get("test_metrics"), "alpha": options.alpha,
                    "temperature": temperature, "match": options.match,
                    "student_vocabulary": options.student_vocabulary,
                    "student_embeddings": options.student_embeddings, "augmentation": options.augmentation().to_dict(),
                    "transfer_size": len(transfer),
                    "augmented": len(transfer) - len(data.train) - len(unlabelled or ()),
                    "unlabelled": unlabelled and {"source": unlabelled.source, "texts": len(unlabelled),
                                                  "dropped_as_evaluation_texts": unlabelled.dropped},
                    "teacher_logits_cache": cache}
    return finish(options, strategy, run_dir, student, history, recipe=recipe, config=config, data=data,
                  train_seconds=train_seconds, ms_per_example=ms_per_example, metrics=metrics,
                  class_names=list(data.class_names), text_pair=data.has_pairs, skipped_rows=data.skipped_rows,
                  xla=bool(model.jit_compile), distillation=distillation)


def _unlabelled_transfer(options, data):
    """`options.transfer_texts`' texts (none of them a validation or test text), or None."""
    if not options.transfer_texts:
        return None
    if data.has_pairs:
        raise InputError(f"--transfer-texts gives single texts, but {options.dataset} holds pairs of texts; "
                         f"accepted: a data set of single texts")
    return load_transfer_texts(options.transfer_texts, data_dir=options.data_dir,
                               sentences=options.transfer_sentences, max_texts=options.transfer_max_texts,
                               exclude=data.validation.texts + data.test.texts, dataset=options.dataset)
