"""`encoders-tf`: train, evaluate, convert, export, check-serving, serve and demo, thin over the package's modules.

Exit codes: 0 success, 2 bad usage or input (one line on stderr, no traceback), 1 a failure while running.
"""

from __future__ import annotations

import argparse
import json
import sys


class UsageError(Exception):
    """Bad usage or input: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(message)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _add_data_arguments(parser, dataset_help):
    parser.add_argument("--dataset", help=dataset_help)
    parser.add_argument("--data-dir", help="where data files are found (default: $ENCODERS_TF_DATA)")
    parser.add_argument("--text-column", help="text column of a CSV/TSV/JSONL file (default: text)")
    parser.add_argument("--label-column", help="label column of a CSV/TSV/JSONL file (default: label)")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="skip and count malformed rows instead of stopping at the first")


def build_parser():
    from encoders_tf.config import PRESETS

    parser = _Parser(prog="encoders-tf", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a text classifier (resumes from its backup after a kill)")
    train.add_argument("--model", default="lstm", choices=list(PRESETS), help="encoder (default: lstm)")
    _add_data_arguments(train, "tweets (default), sst2, imdb, or a .csv/.tsv/.jsonl file")
    train.add_argument("--epochs", type=_positive_int, default=3)
    train.add_argument("--batch-size", type=_positive_int, default=64)
    train.add_argument("--max-length", type=_positive_int, default=64, help="tokens per text, specials included")
    train.add_argument("--learning-rate", type=_positive_float,
                       help="Adam learning rate (default: 1e-3 for LSTM, 5e-4 for Transformer)")
    train.add_argument("--vocabulary-size", type=_positive_int, default=8000, help="WordPiece vocabulary size")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--max-examples", type=_positive_int, help="cap each split (for quick runs)")
    train.add_argument("--out", help="run directory (default: runs/MODEL-DATASET)")
    train.add_argument("--strategy", default="auto", help="tf.distribute strategy: auto (default), default, "
                       "one_device, mirrored, multi_worker ($TF_CONFIG), tpu")
    train.add_argument("--tpu", help="Cloud TPU name for --strategy tpu (default: $TPU_NAME, else this TPU VM's)")
    train.add_argument("--cluster-resolver", choices=["tf_config", "slurm"], default="tf_config",
                       help="where --strategy multi_worker finds its cluster: $TF_CONFIG (default) or Slurm")
    train.add_argument("--devices", help="comma-separated devices for --strategy mirrored (default: all GPUs, "
                       "else the CPU; /cpu:0,/cpu:1 splits the CPU into two replicas)")
    train.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16", "mixed_float16"],
                       help="Keras dtype policy (mixed_float16 gets loss scaling; softmax and logits stay float32)")
    train.add_argument("--jit-compile", action="store_true", help="compile the training step with XLA")
    train.add_argument("--backup-every", type=_positive_int, default=100, metavar="N",
                       help="back up the run every N steps, besides every epoch end, in OUT/backup; started "
                            "again, the same command resumes there (default: 100)")
    train.add_argument("--init", help="fine-tune a converted checkpoint (the --out of `encoders-tf convert`) "
                                      "instead of training --model from scratch")

    evaluate = commands.add_parser("evaluate", help="print a trained model's metrics as JSON")
    evaluate.add_argument("--model", required=True, help="a run directory written by `encoders-tf train`")
    _add_data_arguments(evaluate, "data set or file (default: the one the model was trained on)")
    evaluate.add_argument("--split", default="test", choices=["train", "validation", "test"],
                          help="split of a named data set (default: test); a file is evaluated whole")
    evaluate.add_argument("--batch-size", type=_positive_int, default=256)

    convert = commands.add_parser("convert", help="import a Hugging Face checkpoint directory")
    convert.add_argument("--from-hf", required=True, help="config.json + model.safetensors + tokenizer files")
    convert.add_argument("--out", required=True, help="directory for encoder.keras and encoder_config.json")
    convert.add_argument("--pooling", choices=["cls", "mean", "max"], help="pooled_output (default: the family's)")
    convert.add_argument("--normalize", action="store_true", help="L2-normalize pooled_output (sentence embeddings)")
    convert.add_argument("--max-length", type=_positive_int, help="tokens per text (default: the model's, <= 512)")

    export = commands.add_parser("export", help="export a SavedModel for TensorFlow Serving")
    export.add_argument("--model", required=True,
                        help="a run directory of `encoders-tf train`, or the --out of `encoders-tf convert`")
    export.add_argument("--name", help="model name under the base path (default: the run directory's name)")
    export.add_argument("--base", default="saved_models", help="model base path root (default: saved_models)")
    export.add_argument("--keep", type=_positive_int, help="keep only the newest N versions of this model")

    check = commands.add_parser("check-serving", help="load a SavedModel the way TF Serving does; exit 0 "
                                                      "only when it would serve")
    check.add_argument("path", help="a version directory (saved_models/NAME/3) or a model directory (latest)")

    serve = commands.add_parser("serve", help="serve the models in BASE/models.config over TF Serving's REST API")
    serve.add_argument("--base", default="saved_models", help="model base path root (default: saved_models)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_positive_int, default=8501, help="REST port (default: 8501)")
    serve.add_argument("--engine", choices=["embedded", "tfserving"], default="embedded",
                       help="embedded: this package's server (default); tfserving: run tensorflow_model_server")

    demo = commands.add_parser("demo", help="train the LSTM and a small Transformer, compare, export both")
    demo.add_argument("--dataset", default="tweets")
    demo.add_argument("--data-dir")
    demo.add_argument("--epochs", type=_positive_int, default=3)
    demo.add_argument("--max-examples", type=_positive_int, help="cap each split (for quick runs)")
    demo.add_argument("--out", default="runs/demo")
    demo.add_argument("--base", default="saved_models")
    return parser


def _train(args):
    from encoders_tf.trainer import TrainOptions, train_classifier

    options = TrainOptions(
        model=args.model, dataset=args.dataset or "tweets", data_dir=args.data_dir,
        text_column=args.text_column, label_column=args.label_column, skip_bad_rows=args.skip_bad_rows,
        epochs=args.epochs, batch_size=args.batch_size, max_length=args.max_length,
        learning_rate=args.learning_rate, vocabulary_size=args.vocabulary_size, seed=args.seed,
        max_examples=args.max_examples, out=args.out, init=args.init, strategy=args.strategy,
        devices=tuple(args.devices.split(",")) if args.devices else None, tpu=args.tpu,
        cluster_resolver=args.cluster_resolver, precision=args.precision, jit_compile=args.jit_compile,
        backup_every=args.backup_every)
    run = train_classifier(options)
    print(json.dumps({"run_dir": str(options.run_dir()), **run["test_metrics"]}, indent=2))


def _load_run(path):
    from encoders_tf.trainer import load_run

    try:
        return load_run(path)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None


def _load_exportable(path):
    """(Keras model, class names or None, config dict) of a training run or of a converted checkpoint."""
    import pathlib

    from encoders_tf.checkpoints import ENCODER_FILE, build_text_encoder, load_converted

    if (pathlib.Path(path) / ENCODER_FILE).is_file():
        tokenizer, encoder, config = load_converted(path)
        return build_text_encoder(tokenizer, encoder), None, {"encoder_config": config.to_dict()}
    model, run = _load_run(path)
    config = {key: run[key] for key in ("encoder_config", "options", "dataset", "class_names", "test_metrics")}
    return model, run["class_names"], config


def _convert(args):
    from encoders_tf.checkpoints import (CheckpointError, UnsupportedCheckpoint, load_hf_encoder, read_hf_config,
                                        save_converted)
    from encoders_tf.checkpoints.hf_tokenizer import tokenizer_from_hf

    overrides = {"normalize_pooled": True} if args.normalize else {}
    if args.pooling:
        overrides["pooling"] = args.pooling
    try:
        encoder, config = load_hf_encoder(args.from_hf, **overrides)
        model_type = read_hf_config(args.from_hf)["model_type"]
        tokenizer = tokenizer_from_hf(args.from_hf, args.max_length or min(config.max_length, 512), model_type)
    except (CheckpointError, UnsupportedCheckpoint) as error:
        raise UsageError(str(error)) from None
    out = save_converted(tokenizer, encoder, config, args.out, source=args.from_hf)
    print(json.dumps({"out": str(out), "parameters": int(encoder.count_params()),
                      "vocabulary_size": tokenizer.vocabulary_size, "max_length": tokenizer.max_length,
                      "encoder_config": config.to_dict()}, indent=2))


def _evaluate(args):
    from encoders_tf.data import DATASETS, load_dataset, load_file
    from encoders_tf.trainer import evaluate_split

    model, run = _load_run(args.model)
    options = run["options"]
    dataset = args.dataset or options["dataset"]
    if dataset in DATASETS:
        data = load_dataset(dataset, data_dir=args.data_dir or options["data_dir"], seed=options["seed"],
                            skip_bad_rows=args.skip_bad_rows)
        split, split_name = data.split(args.split), args.split
    else:
        split = load_file(dataset, text_column=args.text_column, label_column=args.label_column,
                          skip_bad_rows=args.skip_bad_rows)
        split_name = "file"
    num_classes = len(run["class_names"])
    if len(split.labels) and split.labels.max() >= num_classes:
        raise UsageError(f"{dataset}: label {int(split.labels.max())} is out of range for this model, "
                         f"which knows {num_classes} classes (0..{num_classes - 1})")
    metrics, _ = evaluate_split(model, split, args.batch_size)
    print(json.dumps({"model": args.model, "dataset": dataset, "split": split_name, **metrics}, indent=2))


def _export(args):
    import pathlib

    from encoders_tf.export import check_export, check_model_name, check_servable, export_for_serving

    name = args.name or pathlib.Path(args.model).resolve().name
    try:
        check_model_name(name)
    except ValueError as error:
        raise UsageError(str(error)) from None
    model, class_names, config = _load_exportable(args.model)
    path = export_for_serving(model, name, args.base, class_names=class_names, config=config, keep=args.keep)
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
        from encoders_tf.serving import ServeError, main_serve

        try:
            return main_serve(args.base, args.host, args.port)
        except ServeError as error:
            raise UsageError(str(error)) from None
    binary = shutil.which("tensorflow_model_server")
    if binary is None:
        raise UsageError("--engine tfserving: tensorflow_model_server is not installed (not on PATH); use the "
                         "default --engine embedded, or TF Serving's Docker image (see the README's Serving section)")
    if not config.is_file():
        raise UsageError(f"--engine tfserving: {config} does not exist; export a model first (encoders-tf export)")
    os.execv(binary, [binary, f"--rest_api_port={args.port}", f"--model_config_file={config}",
                      "--model_config_file_poll_wait_seconds=30"])


def _demo(args):
    from encoders_tf.compare.demo import run_demo

    run_demo(dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs, out=args.out, base=args.base,
             max_examples=args.max_examples)


COMMANDS = {"train": _train, "evaluate": _evaluate, "convert": _convert, "export": _export,
            "check-serving": _check_serving, "serve": _serve, "demo": _demo}


def main(argv=None):
    from encoders_tf.backup import BackupError
    from encoders_tf.data import DataError
    from encoders_tf.distribute import DistributeError, PeerLostError
    from encoders_tf.export import ServingCheckError

    try:
        args = build_parser().parse_args(argv)
        COMMANDS[args.command](args)
    except (UsageError, DataError, DistributeError, BackupError) as error:
        print(f"encoders-tf: error: {error}", file=sys.stderr)
        return 2
    except PeerLostError as error:  # a failure while running, not bad usage
        print(f"encoders-tf: error: {error}", file=sys.stderr)
        return 1
    except ServingCheckError as error:
        print(f"encoders-tf: not servable: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
