"""What a model costs to serve: latency and throughput of exported SavedModels (tokenizer included), measured in
one process, in interleaved rounds, so models compared are measured under the same load."""

from __future__ import annotations

import time

import numpy as np


def serving_cost(version_dirs, texts, batch_sizes=(1, 64), rounds=5, calls=10, pairs=None):
    """{model name: {batch size: figures}} of each SavedModel's `serving_default` on `texts`.

    Each round times `calls` calls per model and batch size, models in turn; the figures are over all calls:
    `ms_per_example` (median call time / batch size), `p50_ms`, `p99_ms` (per call) and `examples_per_s`
    (batch size / median call time). Batches are consecutive slices of `texts`, cycled.

    Args:
        version_dirs: {name: SavedModel version directory}.
        texts: the texts to send (e.g. a dev split's).
        batch_sizes: texts per call.
        rounds: interleaved rounds.
        calls: timed calls per model, batch size and round (after one untimed call).
        pairs: second texts, for pair classifiers.

    Example (after `encoders-tf export --model runs/x --name x`)::

        serving_cost({"x": "saved_models/x/1"}, ["a lovely film"] * 64)["x"][64]["ms_per_example"]
    """
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  registers the TF Text ops that exported tokenizers run

    functions = {name: tf.saved_model.load(str(path)).signatures["serving_default"]
                 for name, path in version_dirs.items()}
    batches = {size: _batches(texts, pairs, size, calls) for size in batch_sizes}
    for name, function in functions.items():  # warm up: the first calls build kernels and caches
        for size in batch_sizes:
            function(**batches[size][0])
    seconds = {(name, size): [] for name in functions for size in batch_sizes}
    for _ in range(rounds):
        for name, function in functions.items():
            for size in batch_sizes:
                for inputs in batches[size]:
                    started = time.perf_counter()
                    function(**inputs)
                    seconds[name, size].append(time.perf_counter() - started)
    return {name: {size: _figures(seconds[name, size], size) for size in batch_sizes} for name in functions}


def _batches(texts, pairs, size, count):
    import tensorflow as tf

    texts = list(texts)
    if not texts:
        raise ValueError("serving_cost needs at least one text")
    picked = [[(start + i) % len(texts) for i in range(size)] for start in range(0, size * count, size)]
    batches = []
    for indices in picked:
        inputs = {"text": tf.constant([texts[i] for i in indices])}
        if pairs is not None:
            inputs["text_pair"] = tf.constant([pairs[i] for i in indices])
        batches.append(inputs)
    return batches


def _figures(seconds, size):
    seconds = np.asarray(seconds)
    median = float(np.median(seconds))
    return {"ms_per_example": 1000 * median / size, "p50_ms": 1000 * median,
            "p99_ms": 1000 * float(np.percentile(seconds, 99)), "examples_per_s": size / median,
            "calls": int(seconds.size)}
