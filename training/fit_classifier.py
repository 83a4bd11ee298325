"""Train a text classifier with plain Keras: build it from encoders_tf's layers, then call model.fit yourself.

Copy this file and change what you need; it uses nothing but the package's public layers and task model. The
pattern: pick a strategy, build and compile under its scope, fit on token ids with the tokenizer in the
tf.data pipeline (what replicas, XLA and TPUs need), save the model (tokenizer included: it takes text).

    python training/fit_classifier.py --dataset tweets --model transformer --epochs 2
    python training/fit_classifier.py --dataset my_data.csv --model lstm --strategy mirrored \\
        --devices /cpu:0,/cpu:1 --out my_model.keras
"""

import argparse
import functools

import keras
import tensorflow as tf

import encoders_tf.distribute
import encoders_tf.training.loop
from encoders_tf.data import load_dataset
from encoders_tf.encoders import LSTMEncoder, TransformerEncoder
from encoders_tf.tasks import TextClassifier
from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
from encoders_tf.training.classifier import evaluate_split


def build_model(vocabulary, class_names, model, max_length):
    """A TextClassifier (tokenizer, encoder, head), compiled for model.fit."""
    tokenizer = WordPieceTokenizer(vocabulary, max_length=max_length)
    if model == "lstm":  # Embedding(128) -> LSTM(128), the classic baseline
        encoder = LSTMEncoder(len(vocabulary), embedding_size=128, units=128)
    else:  # a small BERT-shaped encoder
        encoder = TransformerEncoder(len(vocabulary), max_length=max_length, hidden_size=128, num_layers=2,
                                     num_heads=2, intermediate_size=512)
    classifier = TextClassifier(tokenizer, encoder, len(class_names), class_names=class_names)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3 if model == "lstm" else 5e-4),
                       loss=classifier.default_loss(), metrics=classifier.default_metrics())
    return classifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="tweets", help="tweets, sst2, imdb or a .csv/.tsv/.jsonl file")
    parser.add_argument("--data-dir")
    parser.add_argument("--model", default="lstm", choices=["lstm", "transformer"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategy", default="auto", help="auto, one_device, mirrored, multi_worker, tpu")
    parser.add_argument("--devices", help="for mirrored: comma-separated devices (/cpu:0,/cpu:1 splits the CPU)")
    parser.add_argument("--out", default="fit_classifier.keras", help="the saved model (.keras; takes text)")
    args = parser.parse_args()

    # First: a multi-worker strategy must set up TensorFlow's collectives before anything runs.
    devices = args.devices.split(",") if args.devices else None
    strategy = encoders_tf.distribute.strategy_from_flag(args.strategy, devices=devices)
    per_replica = encoders_tf.distribute.per_replica_batch(args.batch_size, strategy)  # the batch is global
    if encoders_tf.distribute.is_chief(strategy):
        print(f"{strategy.num_replicas_in_sync} replica(s), global batch {args.batch_size}, {per_replica} per replica")
    keras.utils.set_random_seed(args.seed)
    data = load_dataset(args.dataset, data_dir=args.data_dir, seed=args.seed)
    vocabulary = train_wordpiece_vocabulary(data.train.texts, args.vocabulary_size)
    with strategy.scope():
        model = build_model(vocabulary, data.class_names, args.model, args.max_length)

    def batches(split, shuffle=False):
        dataset = tf.data.Dataset.from_tensor_slices((list(split.texts), split.labels))
        if shuffle:
            dataset = dataset.shuffle(len(split.texts), seed=args.seed)
        return model.tokenize_dataset(dataset.batch(args.batch_size)).prefetch(tf.data.AUTOTUNE)

    # model.fit on one device, several, or a TPU. Under MultiWorkerMirroredStrategy Keras 3's fit fails
    # (keras-team/keras#20585): there the package's loop takes the same arguments. It also backs up and
    # resumes mid-epoch (backup_dir=..., backup_every=...), which `encoders-tf train` uses on every strategy.
    fit = model.fit
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        fit = functools.partial(encoders_tf.training.loop.fit, model)
    fit(batches(data.train, shuffle=True), validation_data=batches(data.validation), epochs=args.epochs)
    if encoders_tf.distribute.is_chief(strategy):  # one worker reports and saves
        metrics, _ = evaluate_split(model, data.test)
        print(f"test loss {metrics['loss']:.4f} accuracy {metrics['accuracy']:.4f}")
        model.save(args.out)
        print(f"saved {args.out}")


if __name__ == "__main__":
    main()
