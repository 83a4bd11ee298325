"""Training throughput under tf.distribute: one device vs mirrored over two logical CPUs vs two workers.

For the small Transformer and the LSTM of `make demo`, trains on SST-2 (global batch 64, texts padded to 64
tokens so every step does the same work) with `encoders_tf.training.loop.fit`, the loop every training
command uses, and times the steps after a warm-up epoch (tracing excluded). The setups:

- single: one device (`--strategy one_device`);
- mirrored: the CPU split into two logical devices, MirroredStrategy over both (same process);
- multi_worker: two worker processes on 127.0.0.1, MultiWorkerMirroredStrategy, each with one replica.

Each run is its own process. Scaling efficiency = (examples/s of the setup) / (2 x examples/s of single):
1.0 would be perfect two-replica scaling. Prints the records as JSON and writes
benchmarks/results/distribute-<date>.json.

    .venv/bin/python benchmarks/distribute.py --data-dir ../shared/data
"""

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SETUPS = ("single", "mirrored", "multi_worker")
MODELS = ("transformer", "lstm")


def worker(args):
    """One training run (or one worker of it); the chief prints {"seconds", "steps", "examples"}."""
    from encoders_tf.distribute import is_chief, split_cpu, strategy_from_flag

    if args.setup == "mirrored":
        split_cpu(2)  # before TensorFlow starts
    # First thing: a multi-worker strategy must configure TensorFlow's collectives before anything runs.
    strategy = strategy_from_flag({"single": "one_device", "mirrored": "mirrored",
                                   "multi_worker": "multi_worker"}[args.setup])
    import keras
    import tensorflow as tf

    from encoders_tf.config import EncoderConfig
    from encoders_tf.data import load_dataset
    from encoders_tf.encoders import build_encoder
    from encoders_tf.tasks import TextClassifier
    from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
    from encoders_tf.training.loop import fit

    examples = (args.warmup_steps + args.steps) * args.batch_size
    train = load_dataset("sst2", data_dir=args.data_dir).train
    texts, labels = tf.constant(list(train.texts[:examples])), tf.constant(train.labels[:examples])
    vocabulary = train_wordpiece_vocabulary(train.texts[:examples], 4000)
    tokenizer = WordPieceTokenizer(vocabulary, max_length=64, pad_to_max_length=True, name="tokenizer")
    with strategy.scope():
        keras.utils.set_random_seed(0)
        config = EncoderConfig.preset(args.model, vocabulary_size=len(vocabulary), max_length=64)
        model = TextClassifier(tokenizer, build_encoder(config), 2)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=model.default_loss(),
                      metrics=model.default_metrics())

    def epoch_data(epoch):  # epoch 0 warms up (traces), epoch 1 is timed
        start, steps = (0, args.warmup_steps) if epoch == 0 else (args.warmup_steps, args.steps)
        batches = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(args.batch_size, drop_remainder=True)
        return model.tokenize_dataset(batches.skip(start).take(steps)).prefetch(tf.data.AUTOTUNE)

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.started

    timer = EpochTimer()
    fit(model, epoch_data, epochs=2, callbacks=[timer], verbose=0)
    if is_chief(strategy):
        print(json.dumps({"seconds": timer.seconds, "steps": args.steps,
                          "examples": args.steps * args.batch_size}), flush=True)


def run(setup, model, args):
    """Seconds, steps and examples of one timed run of `setup`, from its own process(es)."""
    command = [sys.executable, __file__, "--worker", "--setup", setup, "--model", model, "--steps", str(args.steps),
               "--warmup-steps", str(args.warmup_steps), "--batch-size", str(args.batch_size)]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    environments = [dict(os.environ)]
    if setup == "multi_worker":
        from encoders_tf.distribute import local_cluster

        environments = [{**os.environ, "TF_CONFIG": tf_config} for tf_config in local_cluster(2)]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for env in environments]
    outputs = [process.communicate(timeout=1800) for process in processes]
    for process, (_, stderr) in zip(processes, outputs):
        if process.returncode:
            raise RuntimeError(f"{setup} {model} failed ({process.returncode}):\n{stderr[-3000:]}")
    return json.loads(outputs[0][0].strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", help="where sst2/ is (default: $ENCODERS_TF_DATA)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--setups", default=",".join(SETUPS))
    parser.add_argument("--steps", type=int, default=60, help="timed steps per run")
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64, help="the global batch")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    sys.path.insert(0, str(ROOT))
    from encoders_tf.compare.comparison import machine

    date = datetime.date.today().isoformat()
    common = {"benchmark": "distribute", "dataset": "sst2", "split": "train", "machine": machine(), "date": date,
              "command": "python benchmarks/distribute.py " + " ".join(sys.argv[1:])}
    records = []
    for model in args.models.split(","):
        single = None
        for setup in args.setups.split(","):
            result = run(setup, model, args)
            examples_per_s = result["examples"] / result["seconds"]
            name = f"{model} {setup}" + ("" if setup == "single" else " x2")
            records += [{**common, "model": name, "metric": "steps_per_s", "value": round(result["steps"] /
                                                                                        result["seconds"], 3),
                         "unit": "steps/s"},
                        {**common, "model": name, "metric": "examples_per_s", "value": round(examples_per_s, 1),
                         "unit": "examples/s"}]
            if setup == "single":
                single = examples_per_s
            elif single:
                records.append({**common, "model": name, "metric": "scaling_efficiency",
                                "value": round(examples_per_s / (2 * single), 3), "unit": "ratio"})
            print(json.dumps(records[-1]), file=sys.stderr, flush=True)
    print(json.dumps(records, indent=1))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"distribute-{date}.json").write_text(json.dumps(records, indent=1) + "\n")


if __name__ == "__main__":
    main()
