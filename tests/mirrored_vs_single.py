"""Trains the same classifier a few steps on one device and mirrored over two logical CPUs; prints JSON.

    python tests/mirrored_vs_single.py transformer|lstm [fit|loop]

`fit` trains with Keras' model.fit (the default), `loop` with encoders_tf.training.loop.fit. Run as a script:
the CPU must be split before TensorFlow starts, which a pytest process has already done.
"""

import json
import sys

from encoders_tf.distribute import split_cpu

split_cpu(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from encoders_tf.config import EncoderConfig  # noqa: E402
from encoders_tf.distribute import strategy_from_flag  # noqa: E402
from encoders_tf.encoders import build_encoder  # noqa: E402
from encoders_tf.tasks import TextClassifier  # noqa: E402
from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary  # noqa: E402
from encoders_tf.training.loop import fit  # noqa: E402

TEXTS = [f"the film was {w} and the plot {v}" for w in ("good", "bad", "dull", "great") for v in ("moved", "sat")] * 8
LABELS = np.array([i % 2 for i in range(len(TEXTS))])


def train(strategy_name, architecture, initial_weights, trainer):
    strategy = strategy_from_flag(strategy_name)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        vocabulary = train_wordpiece_vocabulary(TEXTS, 60)
        preset = "lstm" if architecture == "lstm" else "transformer-tiny"
        config = EncoderConfig.preset(preset, vocabulary_size=len(vocabulary), max_length=16, dropout=0.0,
                                      **({} if architecture == "lstm" else {"attention_dropout": 0.0}))
        model = TextClassifier(WordPieceTokenizer(vocabulary, max_length=16), build_encoder(config), 2, dropout=0.0)
        model.build()
        if initial_weights is not None:
            model.set_weights(initial_weights)
        # Plain SGD: Adam's first steps move each weight by about ±lr whatever the gradient's size, so
        # rounding-level differences in near-zero gradients would flip whole steps and hide real ones.
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="binary_crossentropy")
    start = [w.copy() for w in model.get_weights()]
    data = tf.data.Dataset.from_tensor_slices((TEXTS, LABELS)).batch(16)  # global batch 16, 4 steps
    data = model.tokenize_dataset(data)
    if trainer == "loop":
        history = fit(model, data, validation_data=data, epochs=2, verbose=0)
    else:
        history = model.fit(data, validation_data=data, epochs=2, verbose=0, shuffle=False)
    return start, model.get_weights(), history.history, strategy.num_replicas_in_sync


def main(architecture, trainer="fit"):
    start, single, single_history, _ = train("one_device", architecture, None, trainer)
    _, mirrored, mirrored_history, replicas = train("mirrored", architecture, start, trainer)
    print(json.dumps({
        "replicas": replicas,
        "max_weight_difference": max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored)),
        "max_weight_change": max(float(np.abs(a - b).max()) for a, b in zip(single, start)),
        "max_history_difference": max(abs(a - b) for key in ("loss", "val_loss")
                                      for a, b in zip(single_history[key], mirrored_history[key])),
        "single_history": single_history, "mirrored_history": mirrored_history}))


if __name__ == "__main__":
    main(*sys.argv[1:])
