"""A teacher's logits on a transfer set, computed once and cached on disk, keyed by the teacher's weights and the
texts, so a changed teacher or transfer set is never served from an old cache."""

from __future__ import annotations

import hashlib
import os
import pathlib

import numpy as np
import tensorflow as tf

from encoders_tf.data.by_length import in_length_order, text_batches
from encoders_tf.training.runs import MODEL_FILE, load_run


def digest(*columns):
    """SHA-256 (hex) of columns of texts (None columns skipped), each text and column delimited."""
    hasher = hashlib.sha256()
    for column in columns:
        if column is None:
            continue
        for text in column:
            hasher.update(text.encode("utf-8", "surrogatepass") + b"\0")
        hasher.update(b"\1")
    return hasher.hexdigest()


def file_digest(path):
    """SHA-256 (hex) of a file's bytes."""
    hasher = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def teacher_logits(teacher_dir, texts, pairs=None, cache_dir=None, batch_size=256, verbose=True):
    """(logits float32 [N, L], facts) of the classifier run `teacher_dir` on `texts` (and `pairs`).

    The logits are read from CACHE_DIR/<key>.npz when that file holds them for this teacher (the SHA-256 of
    its model.keras) and these texts (the SHA-256 of them all); else the teacher computes them and the file is
    written (atomically: several workers may share the directory).

    Args:
        teacher_dir: a run directory of a TextClassifier.
        texts: the transfer set's texts.
        pairs: their second texts, for a pair classifier.
        cache_dir: where cached logits live (default: TEACHER_DIR/cache).
        batch_size: texts per teacher batch.
        verbose: say whether the cache was used.

    Returns:
        (logits, {"key", "path", "cached"}).
    """
    teacher_dir = pathlib.Path(teacher_dir)
    cache_dir = pathlib.Path(cache_dir) if cache_dir else teacher_dir / "cache"
    teacher_hash, texts_hash = file_digest(teacher_dir / MODEL_FILE), digest(texts, pairs)
    key = f"{teacher_hash[:16]}-{texts_hash[:16]}"
    path = cache_dir / f"teacher-logits-{key}.npz"
    if path.is_file():
        with np.load(path) as cached:
            if (str(cached["teacher"]) == teacher_hash and str(cached["texts"]) == texts_hash
                    and len(cached["logits"]) == len(texts)):
                if verbose:
                    print(f"teacher logits of {len(texts)} texts read from the cache {path}", flush=True)
                return cached["logits"], {"key": key, "path": str(path), "cached": True}
        if verbose:
            print(f"{path} is not this teacher's and texts' cache: computing the logits again", flush=True)
    model, _ = load_run(teacher_dir)
    if verbose:
        print(f"computing the teacher's logits of {len(texts)} texts", flush=True)
    logits = predict_logits(model, texts, pairs, batch_size, verbose=verbose)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    np.savez(partial, logits=logits, teacher=teacher_hash, texts=texts_hash)
    os.replace(partial, path)
    if verbose:
        print(f"teacher logits of {len(texts)} texts computed and cached in {path}", flush=True)
    return logits, {"key": key, "path": str(path), "cached": False}


def predict_logits(model, texts, pairs=None, batch_size=256, verbose=False):
    """The logits float32 [N, L] of a TextClassifier on raw texts (and pairs), in batches (a progress bar when
    `verbose`)."""
    import keras

    logits = tf.function(lambda *columns: model.logits(model.features(*columns), training=False),
                         reduce_retracing=True)
    progress = keras.utils.Progbar(len(texts), unit_name="text") if verbose else None

    def predict(texts, pairs):
        parts = [np.zeros((0, model.head.units), np.float32)]
        for batch in text_batches(texts, pairs, batch_size):
            parts.append(logits(*batch).numpy().astype(np.float32))
            if progress:
                progress.add(len(parts[-1]))
        return np.concatenate(parts, axis=0)

    return in_length_order(predict, texts, pairs)  # sorted by length, batches pad little
