"""`encoders-tf`: train, distill, pretrain, average, evaluate, convert, export, check-serving, serve, compare and demo.

Exit codes: 0 success, 2 bad usage or input (one line on stderr, no traceback), 1 a failure while running.
Every subcommand imports what it needs when it runs, so `--help` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys

from encoders_tf.errors import EncodersError, InputError


class UsageError(InputError):
    """Bad command-line usage: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(message)


def _number(convert, accepted, description):
    """An argparse type: `convert(text)`, refused with "must be DESCRIPTION, got 'TEXT'" unless `accepted`."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accepted(value):
            raise argparse.ArgumentTypeError(f"must be {description}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, lambda value: value > 0, "a positive integer")
_positive_float = _number(float, lambda value: value > 0, "a positive number")
_non_negative_float = _number(float, lambda value: value >= 0, "a number >= 0")
_fraction = _number(float, lambda value: 0 <= value < 1, "a number in [0, 1)")
_open_fraction = _number(float, lambda value: 0 < value < 1, "a number in (0, 1)")
_dropout_rate = _number(float, lambda value: 0 <= value < 1, "a rate in [0, 1)")
_port = _number(int, lambda value: 0 <= value <= 65535, "a port number from 0 to 65535 (0: any free port)")


def _add_data_arguments(parser, dataset_help):
    parser.add_argument("--dataset", help=dataset_help)
    parser.add_argument("--data-dir", help="where data files are found (default: $ENCODERS_TF_DATA)")
    parser.add_argument("--text-column", help="text column of a CSV/TSV/JSONL file (default: text)")
    parser.add_argument("--text-pair-column", help="second text column of a CSV/TSV/JSONL file: classify pairs")
    parser.add_argument("--label-column", help="label column of a CSV/TSV/JSONL file (default: label)")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="skip and count malformed rows instead of stopping at the first")


def _add_run_arguments(parser):
    """Where and how a training command runs: strategy, precision, XLA, backups."""
    parser.add_argument("--strategy", default="auto", help="tf.distribute strategy: auto (default), default, "
                        "one_device, mirrored, multi_worker ($TF_CONFIG), tpu")
    parser.add_argument("--tpu", help="Cloud TPU name for --strategy tpu (default: $TPU_NAME, else this TPU VM's)")
    parser.add_argument("--cluster-resolver", choices=["tf_config", "slurm"], default="tf_config",
                        help="where --strategy multi_worker finds its cluster: $TF_CONFIG (default) or Slurm")
    parser.add_argument("--devices", help="comma-separated devices for --strategy mirrored (default: all GPUs, "
                        "else the CPU; /cpu:0,/cpu:1 splits the CPU into two replicas)")
    parser.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16", "mixed_float16"],
                        help="Keras dtype policy (mixed_float16 gets loss scaling; softmax and logits stay float32)")
    parser.add_argument("--jit-compile", action="store_true", help="compile the training step with XLA")
    parser.add_argument("--backup-every", type=_positive_int, default=100, metavar="N",
                        help="back up the run every N steps, besides every epoch end, in OUT/backup; started "
                             "again, the same command resumes there (default: 100)")


def _add_training_arguments(parser, max_length_help, out_help):
    """The budget, the data sizes, the seed and the output of a supervised training command."""
    from encoders_tf.config import LSTM_POOLINGS, TRANSFORMER_POOLINGS  # no TensorFlow import

    parser.add_argument("--epochs", type=_positive_int, default=3)
    parser.add_argument("--batch-size", type=_positive_int, default=64)
    parser.add_argument("--max-length", type=_positive_int, help=max_length_help)
    parser.add_argument("--learning-rate", type=_positive_float,
                        help="(peak) learning rate (default: 1e-3 LSTM, 5e-4 Transformer, 3e-5 with --init)")
    parser.add_argument("--vocabulary-size", type=_positive_int, default=8000, help="WordPiece vocabulary size")
    parser.add_argument("--seed", type=int, default=0,
                        help="fixes the validation carve, the new weights (head, new blocks) and, without "
                             "--order-seed, the batches' order (default: 0)")
    parser.add_argument("--order-seed", type=_number(int, lambda value: value >= 0, "an integer >= 0"), metavar="N",
                        help="draw the batches' order from N instead of --seed: runs differing only in it start "
                             "from the same weights, as the members of `encoders-tf average` must")
    parser.add_argument("--max-examples", type=_positive_int, help="cap each split (for quick runs)")
    parser.add_argument("--validation-fraction", type=_fraction, default=0.1,
                        help="share of the training split's texts held out as validation (default: 0.1); 0 trains "
                             "on the whole training split, for the final fit of a recipe chosen on validation")
    parser.add_argument("--group-by-length", action="store_true",
                        help="batch texts of similar length together (sorted within groups of 50 shuffled "
                             "batches), so batches pad less: on SST-2, training is twice as fast")
    parser.add_argument("--pooling", choices=sorted(set(TRANSFORMER_POOLINGS + LSTM_POOLINGS)),
                        help="how a new encoder pools its outputs into one vector (default: the preset's; LSTM: "
                             "last, mean, max or weighted; Transformer: cls, mean, max, weighted or pooler, BERT's "
                             "dense and tanh on [CLS], new unless `convert --pooling pooler` imported it)")
    parser.add_argument("--dropout", type=_dropout_rate, metavar="RATE",
                        help="the encoder's dropout rate (default: the preset's, 0.1 for Transformers and 0 for "
                             "LSTMs, or the --init run's); an LSTM drops embeddings and between layers")
    parser.add_argument("--attention-dropout", type=_dropout_rate, metavar="RATE",
                        help="a Transformer's dropout on its attention probabilities (default: the preset's, 0.1, "
                             "or the --init run's); --dropout leaves it as it is")
    parser.add_argument("--head-dropout", type=_dropout_rate, default=0.1, metavar="RATE",
                        help="dropout before the task head (default: 0.1)")
    parser.add_argument("--out", help=out_help)
    _add_run_arguments(parser)
    tuning = parser.add_argument_group(
        "fine-tuning recipe", "AdamW with linear warm-up and linear decay to zero, no weight decay on biases and "
        "normalization weights, global gradient clipping: on with --init, or when any of these is given")
    tuning.add_argument("--warmup", type=_fraction, help="fraction of the steps spent warming up (default: 0.1)")
    tuning.add_argument("--weight-decay", type=_non_negative_float, help="AdamW weight decay (default: 0.01)")
    tuning.add_argument("--ema", type=_open_fraction, metavar="MOMENTUM",
                        help="average the weights as they train (exponential moving average with this momentum, "
                             "e.g. 0.999): validation reads the average and the run keeps it (default: off)")
    tuning.add_argument("--clip-norm", type=_non_negative_float,
                        help="clip the global gradient norm (default: 1.0; 0: no clipping)")
    parser.add_argument("--early-stopping", type=_positive_int, metavar="PATIENCE",
                        help="stop after PATIENCE epochs without a better validation accuracy; the best epoch's "
                             "weights are kept")
    parser.add_argument("--budget-minutes", type=_positive_float, metavar="MINUTES",
                        help="stop training after MINUTES of it (within --epochs)")


_probability = _number(float, lambda value: 0 <= value <= 1, "a probability in [0, 1]")


def _add_augment_arguments(parser, what):
    """Tang et al.'s augmentation (word masking, swap and deletion for their part-of-speech swap, n-grams)."""
    group = parser.add_argument_group("augmentation", f"of the {what} (never of validation or test text)")
    group.add_argument("--augment-factor", type=_number(int, lambda value: value >= 0, "an integer >= 0"),
                       default=0, metavar="N", help="copies of each training text (default: 0, none)")
    group.add_argument("--augment-mask", type=_probability, default=0.1, help="P(a word -> [MASK]) (0.1)")
    group.add_argument("--augment-swap", type=_probability, default=0.1, help="P(a word swapped) (0.1)")
    group.add_argument("--augment-delete", type=_probability, default=0.1, help="P(a word deleted) (0.1)")
    group.add_argument("--augment-ngram", type=_probability, default=0.25,
                       help="P(a copy cut to a random n-gram, n in 1..5) (0.25)")
    group.add_argument("--augment-pair-swap", action="store_true",
                       help="pair data: each pair (a, b) also as (b, a), for relations in which the order does not "
                            "matter (paraphrase, similarity)")


LENGTHS = (32, 64, 128, 256, 512)  # compare's serving lengths (encoders_tf.compare.comparison.LENGTHS)


def _lengths(text):
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or any(value < 3 for value in values):
        raise argparse.ArgumentTypeError(f"must be comma-separated token counts of 3 or more, got {text!r}")
    return values


def build_parser():
    from encoders_tf.config import PRESETS  # no TensorFlow import

    parser = _Parser(prog="encoders-tf", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a text classifier (resumes from its backup after a kill)")
    train.add_argument("--task", default="classify", choices=["classify", "tokens"],
                       help="classify: one label per text or pair of texts (default); tokens: one tag per word "
                            "(named entities), data in the CoNLL layout")
    train.add_argument("--model", help="encoder preset (default: lstm; bilstm with --task tokens)",
                       choices=list(PRESETS), metavar="{" + ",".join(PRESETS) + "}")
    _add_data_arguments(train, "tweets (default), sst2, imdb, mrpc, or a .csv/.tsv/.jsonl file; with --task tokens: "
                               "conll2003 (default) or a file of `word TAG` lines")
    _add_training_arguments(train, "tokens per text, specials included (default: 64, 128 with --task tokens, or "
                                   "the --init run's; longer than a Transformer's positions gives it more, its "
                                   "learned ones copied to fill them)",
                            "run directory (default: runs/MODEL-DATASET)")
    train.add_argument("--init", metavar="RUN_DIR",
                       help="fine-tune the tokenizer and encoder of a run directory (of `train`, `pretrain` or "
                            "`convert`) instead of training --model from scratch")
    train.add_argument("--reinit-layers", type=_positive_int, default=0, metavar="N",
                       help="with --init: start the top N Transformer blocks from new random weights; on small "
                            "data sets fresh top blocks often fine-tune better (Zhang et al. 2021) (default: 0)")
    _add_augment_arguments(train, "training texts: N copies of each, with its label")

    distill = commands.add_parser("distill", help="train a student classifier from scratch on a teacher "
                                                  "classifier's outputs (resumes from its backup after a kill)")
    distill.add_argument("--teacher", required=True, metavar="RUN_DIR",
                         help="a classifier run directory (of `train` or `distill`), e.g. fine-tuned MiniLM")
    distill.add_argument("--student", default="bilstm", choices=list(PRESETS),
                         metavar="{" + ",".join(PRESETS) + "}", help="the student's encoder preset (default: bilstm)")
    distill.add_argument("--student-vocabulary", choices=["train", "teacher"], default="train",
                         help="train: a WordPiece vocabulary trained on the training texts (default); teacher: the "
                              "teacher's tokenizer")
    distill.add_argument("--student-embeddings", choices=["random", "teacher"], default="random",
                         help="random: a new token embedding (default); teacher: start from the teacher's token "
                              "embedding matrix and width (needs --student-vocabulary teacher)")
    distill.add_argument("--alpha", type=_number(float, lambda value: 0 <= value <= 1, "a number in [0, 1]"),
                         default=0.5, help="weight of the true labels' cross-entropy; 1 - alpha weighs the match "
                                           "to the teacher (default: 0.5)")
    distill.add_argument("--match", choices=["kl", "mse"], default="kl",
                         help="kl: KL divergence of temperature-softened probabilities (Hinton et al., default); "
                              "mse: squared difference of the logits (Tang et al.)")
    distill.add_argument("--temperature", type=_positive_float, help="softening of --match kl (default: 2)")
    distill.add_argument("--cache-dir", help="cached teacher outputs, keyed by teacher and texts "
                                             "(default: TEACHER/cache)")
    _add_data_arguments(distill, "the teacher's data set: sst2, imdb, mrpc, tweets, or a .csv/.tsv/.jsonl file")
    _add_training_arguments(distill, "tokens per text for the student, specials included (default: 64)",
                            "run directory (default: runs/distill-STUDENT-DATASET)")
    _add_augment_arguments(distill, "the transfer set: N copies of each training text, labelled by the teacher")
    unlabelled = distill.add_argument_group("unlabelled transfer texts", "labelled by the teacher alone, added to "
                                            "the transfer set (never a validation or test text)")
    unlabelled.add_argument("--transfer-texts", metavar="SOURCE",
                            help="NAME:SPLITS of a named data set (e.g. imdb:unsup), a text file (one text a line) "
                                 "or a directory of .txt files")
    unlabelled.add_argument("--transfer-sentences", action="store_true",
                            help="cut each text into its sentences (e.g. reviews for a teacher of sentences)")
    unlabelled.add_argument("--transfer-max-texts", type=_positive_int, metavar="N",
                            help="keep the first N texts (after cutting; default: all)")

    pretrain = commands.add_parser("pretrain", help="pretrain an encoder from scratch with masked-LM (resumes "
                                                    "from its backup after a kill); `train --init OUT` fine-tunes it")
    pretrain.add_argument("--model", default="transformer", choices=list(PRESETS),
                          metavar="{" + ",".join(PRESETS) + "}", help="encoder preset (default: transformer)")
    pretrain.add_argument("--init", metavar="RUN_DIR", help="continue pretraining the tokenizer and encoder of a "
                                                            "pretrained or converted run")
    source = pretrain.add_argument_group("text (one source)")
    source.add_argument("--dataset", help="a named data set's texts, e.g. imdb")
    source.add_argument("--split", default="train", help="its splits, comma-separated (default: train; e.g. "
                                                          "unsup,train)")
    source.add_argument("--text-file", help="a text file, one document a line")
    source.add_argument("--text-dir", help="a directory of .txt files, one document a file")
    pretrain.add_argument("--data-dir", help="where data files are found (default: $ENCODERS_TF_DATA)")
    pretrain.add_argument("--max-documents", type=_positive_int, help="keep the first N documents (quick runs)")
    pretrain.add_argument("--held-out", type=_fraction, default=0.05,
                          help="share of the documents held out for masked accuracy and perplexity (default: 0.05)")
    pretrain.add_argument("--max-length", type=_positive_int,
                          help="window length in tokens; long documents give several windows (default: 128, or the "
                               "--init run's; longer than a Transformer's positions gives it more, its learned ones "
                               "copied to fill them: pretrain on short windows, then on long ones)")
    pretrain.add_argument("--vocabulary-size", type=_positive_int, default=8000,
                          help="WordPiece vocabulary trained on the text (default: 8000)")
    pretrain.add_argument("--epochs", type=_positive_int, default=1)
    pretrain.add_argument("--batch-size", type=_positive_int, default=32)
    pretrain.add_argument("--learning-rate", type=_positive_float,
                          help="peak learning rate (default: 5e-4 Transformer, 1e-3 LSTM, 3e-5 with --init)")
    pretrain.add_argument("--warmup", type=_fraction, default=0.1, help="fraction of steps warming up (0.1)")
    pretrain.add_argument("--weight-decay", type=_non_negative_float, default=0.01, help="AdamW weight decay (0.01)")
    pretrain.add_argument("--clip-norm", type=_non_negative_float, default=1.0,
                          help="clip the global gradient norm (1.0; 0: no clipping)")
    pretrain.add_argument("--mask-rate", type=_fraction, default=0.15,
                          help="share of each window's tokens predicted: 80%% [MASK], 10%% random, 10%% kept (0.15)")
    pretrain.add_argument("--seed", type=int, default=0)
    pretrain.add_argument("--out", help="run directory (default: runs/pretrain-MODEL-SOURCE)")
    _add_run_arguments(pretrain)

    average = commands.add_parser("average", help="average the weights of runs fine-tuned from the same start "
                                                  "(a model soup): one model, at one model's cost")
    average.add_argument("runs", nargs="+", metavar="RUN_DIR",
                         help="two or more `train` runs of the same --init, --reinit-layers, --seed and data, e.g. "
                              "differing in --order-seed")
    average.add_argument("--out", required=True, help="run directory to write; evaluated on the runs' test split")
    average.add_argument("--data-dir", help="where the runs' named data set is (default: where they read it)")

    evaluate = commands.add_parser("evaluate", help="print a trained model's metrics as JSON")
    evaluate.add_argument("--model", required=True, help="a run directory of `encoders-tf train` (either task)")
    _add_data_arguments(evaluate, "data set or file (default: the one the model was trained on)")
    evaluate.add_argument("--split", default="test", choices=["train", "validation", "test"],
                          help="split of a named data set (default: test); a file is evaluated whole")
    evaluate.add_argument("--batch-size", type=_positive_int, default=256)

    convert = commands.add_parser("convert", help="import a Hugging Face checkpoint directory")
    convert.add_argument("--from-hf", required=True, help="config.json + model.safetensors + tokenizer files")
    convert.add_argument("--out", required=True, help="run directory to write (model.keras, run.json, vocab)")
    convert.add_argument("--pooling", choices=["cls", "mean", "max", "pooler"],
                         help="pooled_output (default: the family's); pooler: BERT's, [CLS] through the checkpoint's "
                              "dense layer and tanh, what Hugging Face's BERT classifiers read")
    convert.add_argument("--normalize", action="store_true", help="L2-normalize pooled_output (sentence embeddings)")
    convert.add_argument("--max-length", type=_positive_int, help="tokens per text (default: the model's, <= 512)")

    export = commands.add_parser("export", help="export a SavedModel for TensorFlow Serving")
    export.add_argument("--model", required=True,
                        help="a run directory (of `encoders-tf train`, `pretrain` or `convert`)")
    export.add_argument("--name", help="model name under the base path (default: the run directory's name)")
    export.add_argument("--base", default="saved_models", help="model base path root (default: saved_models)")
    export.add_argument("--keep", type=_positive_int, help="keep only the newest N versions of this model")

    check = commands.add_parser("check-serving", help="load a SavedModel the way TF Serving does; exit 0 "
                                                      "only when it would serve")
    check.add_argument("path", help="a version directory (saved_models/NAME/3) or a model directory (latest)")

    serve = commands.add_parser("serve", help="serve the models in BASE/models.config over TF Serving's REST API")
    serve.add_argument("--base", default="saved_models", help="model base path root (default: saved_models)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8501, help="REST port (default: 8501; 0: any free port)")
    serve.add_argument("--engine", choices=["embedded", "tfserving"], default="embedded",
                       help="embedded: this package's server (default); tfserving: run tensorflow_model_server")

    compare = commands.add_parser("compare", help="LSTM or Transformer for this data: train each model on the same "
                                                  "data and budget, measure all through their SavedModels, report")
    compare.add_argument("--models", default="lstm,transformer",
                         help="comma-separated presets to train (lstm, bilstm, transformer, ...) and classifier run "
                              "directories taken as they are; the first is the baseline (default: lstm,transformer)")
    compare.add_argument("--dataset", default="tweets", help="tweets (default), sst2, imdb, or a .csv/.tsv/.jsonl file")
    compare.add_argument("--data-dir", help="where data files are found (default: $ENCODERS_TF_DATA)")
    compare.add_argument("--text-column", help="text column of a CSV/TSV/JSONL file (default: text)")
    compare.add_argument("--label-column", help="label column of a CSV/TSV/JSONL file (default: label)")
    compare.add_argument("--out", default="runs/compare", help="where metrics.json, the report and the runs go")
    compare.add_argument("--overwrite", action="store_true",
                         help="replace the comparison --out holds (its finished runs of the same options are reused)")
    compare.add_argument("--epochs", type=_positive_int, default=3, help="training epochs of each model (default: 3)")
    compare.add_argument("--budget-minutes", type=_positive_float, metavar="MINUTES",
                         help="train each model for MINUTES instead of --epochs")
    compare.add_argument("--batch-size", type=_positive_int, default=64)
    compare.add_argument("--max-length", type=_positive_int, default=64,
                         help="tokens per text when training (default: 64); the summary's serving figures use it")
    compare.add_argument("--vocabulary-size", type=_positive_int, default=8000, help="WordPiece vocabulary size")
    compare.add_argument("--max-examples", type=_positive_int, help="cap each split (for quick runs)")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--strategy", default="auto", help="tf.distribute strategy of the training runs")
    compare.add_argument("--lengths", default=",".join(map(str, LENGTHS)), type=_lengths,
                         help="sequence lengths of the serving measurements (default: 32,64,128,256,512)")
    compare.add_argument("--latency-budget-ms", type=_positive_float, metavar="MS",
                         help="recommend the most accurate model whose batch-1 latency is within MS")

    demo = commands.add_parser("demo", help="train the LSTM and a small Transformer, compare, export both")
    demo.add_argument("--dataset", default="tweets")
    demo.add_argument("--data-dir")
    demo.add_argument("--epochs", type=_positive_int, default=3)
    demo.add_argument("--max-examples", type=_positive_int, help="cap each split (for quick runs)")
    demo.add_argument("--out", default="runs/demo")
    demo.add_argument("--base", default="saved_models")
    return parser


def _common_options(args):
    """RunOptions' values from `_add_training_arguments`' flags."""
    return dict(
        data_dir=args.data_dir, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        vocabulary_size=args.vocabulary_size, seed=args.seed, order_seed=args.order_seed,
        max_examples=args.max_examples, validation_fraction=args.validation_fraction, out=args.out,
        group_by_length=args.group_by_length, pooling=args.pooling, dropout=args.dropout,
        attention_dropout=args.attention_dropout, head_dropout=args.head_dropout, warmup=args.warmup,
        weight_decay=args.weight_decay, clip_norm=args.clip_norm, ema=args.ema, strategy=args.strategy,
        devices=tuple(args.devices.split(",")) if args.devices else None, tpu=args.tpu,
        cluster_resolver=args.cluster_resolver, precision=args.precision, backup_every=args.backup_every)


def _train(args):
    common = dict(model=args.model or ("bilstm" if args.task == "tokens" else "lstm"), init=args.init,
                  reinit_layers=args.reinit_layers, **_common_options(args))
    if args.task == "tokens":
        from encoders_tf.training.tagging import TagOptions, train_tagger

        unused = [flag for flag, value in (("--text-column", args.text_column), ("--label-column", args.label_column),
                                           ("--text-pair-column", args.text_pair_column),
                                           ("--skip-bad-rows", args.skip_bad_rows), ("--jit-compile", args.jit_compile),
                                           ("--early-stopping", args.early_stopping), ("--pooling", args.pooling),
                                           ("--augment-factor", args.augment_factor),
                                           ("--augment-pair-swap", args.augment_pair_swap),
                                           ("--budget-minutes", args.budget_minutes)) if value]
        if unused:
            raise UsageError(f"{', '.join(unused)} do not apply to --task tokens (accepted there: --dataset, "
                             f"--max-length and the training options)")
        options = TagOptions(dataset=args.dataset or "conll2003", max_length=args.max_length, **common)
        run = train_tagger(options)
    else:
        from encoders_tf.training.classifier import TrainOptions, train_classifier

        options = TrainOptions(**_classifier_options(args), **common)
        run = train_classifier(options)
    print(json.dumps({"run_dir": str(options.run_dir()), **_summary(run["test_metrics"])}, indent=2))
    _leave_quietly()


def _classifier_options(args):
    """The options of a text classifier's data, budget and augmentation (train and distill)."""
    return dict(
        dataset=args.dataset or "tweets", text_column=args.text_column, text_pair_column=args.text_pair_column,
        label_column=args.label_column, skip_bad_rows=args.skip_bad_rows, max_length=args.max_length,
        early_stopping=args.early_stopping, budget_minutes=args.budget_minutes, jit_compile=args.jit_compile,
        augment_factor=args.augment_factor,
        augment_mask=args.augment_mask, augment_swap=args.augment_swap, augment_delete=args.augment_delete,
        augment_ngram=args.augment_ngram, augment_pair_swap=args.augment_pair_swap)


def _distill(args):
    from encoders_tf.training.distill import DistillOptions, distill

    options = DistillOptions(
        teacher=args.teacher, model=args.student, student_vocabulary=args.student_vocabulary,
        student_embeddings=args.student_embeddings, alpha=args.alpha,
        match=args.match, temperature=args.temperature, cache_dir=args.cache_dir,
        transfer_texts=args.transfer_texts, transfer_sentences=args.transfer_sentences,
        transfer_max_texts=args.transfer_max_texts, **_common_options(args),
        **_classifier_options(args))
    run = distill(options)
    print(json.dumps({"run_dir": str(options.run_dir()), **_summary(run["test_metrics"])}, indent=2))
    _leave_quietly()


def _summary(metrics):
    """The metrics a terminal shows (per-type entity figures stay in metrics.json)."""
    return {key: value for key, value in metrics.items() if key != "per_type"}


def _pretrain(args):
    from encoders_tf.training.pretrain import PretrainOptions, pretrain

    sources = [flag for flag, value in (("--dataset", args.dataset), ("--text-file", args.text_file),
                                        ("--text-dir", args.text_dir)) if value]
    if len(sources) != 1:
        raise UsageError(f"pretrain takes exactly one text source, got {len(sources)} ({', '.join(sources) or 'none'}); "
                         f"accepted: --dataset NAME [--split unsup,train], --text-file FILE or --text-dir DIR")
    options = PretrainOptions(
        model=args.model, init=args.init, dataset=args.dataset, split=args.split, text_file=args.text_file,
        text_dir=args.text_dir, data_dir=args.data_dir, max_documents=args.max_documents, held_out=args.held_out,
        max_length=args.max_length, vocabulary_size=args.vocabulary_size, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, warmup=args.warmup,
        weight_decay=args.weight_decay, clip_norm=args.clip_norm, mask_rate=args.mask_rate, seed=args.seed,
        out=args.out, strategy=args.strategy, devices=tuple(args.devices.split(",")) if args.devices else None, tpu=args.tpu,
        cluster_resolver=args.cluster_resolver, precision=args.precision, jit_compile=args.jit_compile,
        backup_every=args.backup_every)
    run = pretrain(options)
    print(json.dumps({"run_dir": str(options.run_dir()), **run["held_out_metrics"], "ms_per_step": run["ms_per_step"]},
                     indent=2))
    _leave_quietly()


def _leave_quietly():
    """A multi-worker run that went well ends without TensorFlow's error lines on any worker."""
    if "tensorflow" in sys.modules:
        from encoders_tf.distribute import leave_quietly

        leave_quietly()


def _convert(args):
    from encoders_tf.checkpoints import load_hf_encoder, read_hf_config, save_converted
    from encoders_tf.checkpoints.hf_tokenizer import tokenizer_from_hf

    overrides = {"normalize_pooled": True} if args.normalize else {}
    if args.pooling:
        overrides["pooling"] = args.pooling
    try:
        encoder, config = load_hf_encoder(args.from_hf, **overrides)
        model_type = read_hf_config(args.from_hf)["model_type"]
        tokenizer = tokenizer_from_hf(args.from_hf, args.max_length or min(config.max_length, 512), model_type)
    except FileNotFoundError as error:
        raise UsageError(f"--from-hf {args.from_hf}: {error}") from None
    out = save_converted(tokenizer, encoder, config, args.out, source=args.from_hf)
    print(json.dumps({"out": str(out), "parameters": int(encoder.count_params()),
                      "vocabulary_size": tokenizer.vocabulary_size, "max_length": tokenizer.max_length,
                      "encoder_config": config.to_dict()}, indent=2))


def _validation_fraction(options, split):
    """The run's validation fraction (its test split, where carved, depends on it), refused when the run had
    no validation split and `split` asks for it."""
    fraction = options.get("validation_fraction", 0.1)
    if split == "validation" and not fraction:
        raise UsageError("this run was trained with --validation-fraction 0: it has no validation split; "
                         "accepted: --split train or test")
    return fraction


def _average(args):
    from encoders_tf.training.average import average_runs

    run = average_runs(args.runs, args.out, data_dir=args.data_dir)
    print(json.dumps({"run_dir": args.out, **_summary(run["test_metrics"])}, indent=2))


def _evaluate(args):
    from encoders_tf.tasks import TextClassifier, TokenClassifier
    from encoders_tf.training.runs import load_run, read_run_info

    if read_run_info(args.model).get("task") == "TokenClassifier":
        from encoders_tf.data.tagging import load_tagged_dataset
        from encoders_tf.training.tagging import evaluate_tagger

        model, run = load_run(args.model, TokenClassifier)
        options = run["options"]
        dataset = args.dataset or options["dataset"]
        data = load_tagged_dataset(dataset, data_dir=args.data_dir or options["data_dir"], seed=options["seed"],
                                   validation_fraction=_validation_fraction(options, args.split))
        if list(data.tag_names) != list(model.tag_names):
            raise UsageError(f"{dataset} has the tags {list(data.tag_names)}, the model {args.model} knows "
                             f"{list(model.tag_names)}")
        metrics, _ = evaluate_tagger(model, data.split(args.split), args.batch_size)
        print(json.dumps({"model": args.model, "dataset": dataset, "split": args.split, **_summary(metrics)},
                         indent=2))
        return
    from encoders_tf.data import DATASETS, load_dataset, load_file
    from encoders_tf.training.classifier import evaluate_split

    model, run = load_run(args.model, TextClassifier)
    options = run["options"]
    dataset = args.dataset or options["dataset"]
    pair_column = args.text_pair_column or (None if args.dataset else options.get("text_pair_column"))
    if dataset in DATASETS:
        data = load_dataset(dataset, data_dir=args.data_dir or options["data_dir"], seed=options["seed"],
                            validation_fraction=_validation_fraction(options, args.split),
                            skip_bad_rows=args.skip_bad_rows)
        split, split_name = data.split(args.split), args.split
    else:
        split = load_file(dataset, text_column=args.text_column or options.get("text_column"),
                          text_pair_column=pair_column, label_column=args.label_column or options.get("label_column"),
                          skip_bad_rows=args.skip_bad_rows)
        split_name = "file"
    if split.has_pairs != model.text_pair:
        raise UsageError(f"{args.model} classifies {'pairs of texts' if model.text_pair else 'single texts'}, but "
                         f"{dataset} holds {'pairs' if split.has_pairs else 'single texts'}"
                         f"{' (give --text-pair-column)' if model.text_pair else ''}")
    if len(split.labels) and split.labels.max() >= model.num_classes:
        raise UsageError(f"{dataset}: label {int(split.labels.max())} is out of range for this model, "
                         f"which knows {model.num_classes} classes (0..{model.num_classes - 1})")
    metrics, _ = evaluate_split(model, split, args.batch_size)
    print(json.dumps({"model": args.model, "dataset": dataset, "split": split_name, **metrics}, indent=2))


def _export(args):
    import pathlib

    from encoders_tf.export import check_export, check_model_name, check_servable, export_for_serving
    from encoders_tf.training.runs import load_run

    name = args.name or pathlib.Path(args.model).resolve().name
    try:
        check_model_name(name)
    except ValueError as error:
        raise UsageError(str(error)) from None
    model, run = load_run(args.model)
    config = {key: run[key] for key in ("task", "encoder_config", "options", "dataset", "class_names", "tag_names",
                                        "test_metrics", "source") if key in run}
    path = export_for_serving(model, name, args.base, config=config, keep=args.keep)
    report = check_servable(path)
    difference = check_export(model, path)
    print(json.dumps({"name": name, "path": str(path), "serving_check": "ok",
                      "warmup_requests": report["warmup_requests"], "text_ops": report["text_ops"],
                      "max_abs_difference_vs_keras": difference}, indent=2))


def _check_serving(args):
    import pathlib

    from encoders_tf.export import check_servable, versions

    path = pathlib.Path(args.path)
    if not (path / "saved_model.pb").is_file():
        if not versions(path):
            raise UsageError(f"{path} is neither a SavedModel version directory (with saved_model.pb) nor a "
                             f"model directory holding integer versions")
        path = path / str(versions(path)[-1])
    print(json.dumps({"servable": True, **check_servable(path)}, indent=2))


def _serve(args):
    import os
    import pathlib
    import shutil

    from encoders_tf.export import MODELS_CONFIG

    config = pathlib.Path(args.base).resolve() / MODELS_CONFIG
    if args.engine == "embedded":
        from encoders_tf.serving import main_serve

        return main_serve(args.base, args.host, args.port)
    binary = shutil.which("tensorflow_model_server")
    if binary is None:
        raise UsageError("--engine tfserving: tensorflow_model_server is not installed (not on PATH); use the "
                         "default --engine embedded, or TF Serving's Docker image (see the README's Serving section)")
    if not config.is_file():
        raise UsageError(f"--engine tfserving: {config} does not exist; export a model first (encoders-tf export)")
    os.execv(binary, [binary, f"--rest_api_port={args.port}", f"--model_config_file={config}",
                      "--model_config_file_poll_wait_seconds=30"])


def _compare(args):
    from encoders_tf.compare.comparison import CompareOptions, compare

    compare(CompareOptions(
        models=tuple(name.strip() for name in args.models.split(",") if name.strip()), dataset=args.dataset,
        data_dir=args.data_dir, text_column=args.text_column, label_column=args.label_column, out=args.out,
        epochs=args.epochs, budget_minutes=args.budget_minutes, batch_size=args.batch_size,
        max_length=args.max_length, vocabulary_size=args.vocabulary_size, max_examples=args.max_examples,
        seed=args.seed, strategy=args.strategy, lengths=args.lengths, latency_budget_ms=args.latency_budget_ms,
        overwrite=args.overwrite))


def _demo(args):
    from encoders_tf.compare.demo import run_demo

    run_demo(dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs, out=args.out, base=args.base,
             max_examples=args.max_examples)


COMMANDS = {"train": _train, "distill": _distill, "pretrain": _pretrain, "average": _average, "evaluate": _evaluate,
            "convert": _convert, "export": _export, "check-serving": _check_serving, "serve": _serve,
            "compare": _compare, "demo": _demo}


def main(argv=None):
    """Runs `encoders-tf`; returns the exit code: 0, 2 for bad usage or input, 1 for a failure while running."""
    try:
        args = build_parser().parse_args(argv)
        COMMANDS[args.command](args)
    except EncodersError as error:  # the package's one error type: one line, never a traceback
        label = "not servable" if type(error).__name__ == "ServingCheckError" else "error"
        print(f"encoders-tf: {label}: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
