"""Export a task model as a SavedModel that TF Serving runs as it is: text in, probabilities (or tags, or
embeddings) out."""

import json

import keras

from encoders_tf.export.model_config import write_models_config
from encoders_tf.export.versions import prune_versions, write_next_version
from encoders_tf.export.warmup import write_warmup_requests

CLASS_NAMES_ASSET = "class_names.txt"
CONFIG_ASSET = "model_config.json"


def write_saved_model(model, directory):
    """Writes a task model as a SavedModel for TF Serving, one signature per `model.serving_endpoints()`.

    A TextClassifier gets `serving_default` (text [and text_pair] tf.string [None] -> probabilities float32
    [None, C], label int64 [None], label_name tf.string [None]) and `encode` (-> embedding float32 [None, H]);
    a TextEncoder (e.g. a converted sentence-embedding checkpoint) gets `encode`, also as `serving_default`;
    other tasks define their own.

    Uses keras.export.ExportArchive, whose SavedModels restore on TF Serving's C++ path (a plain
    tf.saved_model.save of a Keras 3 model may not: keras-team/keras#19274).

    Args:
        model: a task model (`encoders_tf.tasks.Task`).
        directory: where to write; must not exist yet.
    """
    if not model.built:
        model.build()
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (function, signature) in model.serving_endpoints().items():
        archive.add_endpoint(name, function, input_signature=signature)
    archive.write_out(str(directory), verbose=False)


def _write_version(model, directory, name, config):
    write_saved_model(model, directory)
    # Files beside the graph's own: TF Serving ignores them; people and tools read them.
    assets = directory / "assets"
    assets.mkdir(exist_ok=True)
    class_names = getattr(model, "class_names", None) or getattr(model, "tag_names", None)
    if class_names:
        (assets / CLASS_NAMES_ASSET).write_text("".join(f"{c}\n" for c in class_names), encoding="utf-8")
    (assets / CONFIG_ASSET).write_text(json.dumps(config or {}, indent=2) + "\n")
    _, signature = model.serving_endpoints()["serving_default"]
    write_warmup_requests(directory, name, "serving_default", input_names=[spec.name for spec in signature])


def export_for_serving(model, name, base="saved_models", config=None, keep=None):
    """Writes the next version of model `name` under `base`, atomically, and returns its path.

    The version carries its class names and config in assets/, warmup requests in
    assets.extra/tf_serving_warmup_requests, and `base`/models.config is rewritten to list every model.

    Args:
        model: a task model (`encoders_tf.tasks.Task`: TextClassifier, TextEncoder, ...).
        name: the model name (one path component).
        base: the model base path root.
        config: a JSON-able dict describing the model (encoder config, training options).
        keep: keep only the newest `keep` versions.

    Example:
    >>> from encoders_tf import EncoderConfig, build_encoder
    >>> from encoders_tf.tasks import TextClassifier
    >>> from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
    >>> vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=100)
    >>> encoder = build_encoder(EncoderConfig.preset("lstm", vocabulary_size=len(vocabulary)))
    >>> model = TextClassifier(WordPieceTokenizer(vocabulary, max_length=16), encoder, num_classes=2)
    >>> export_for_serving(model, "demo")
    PosixPath('saved_models/demo/1')
    """
    path = write_next_version(base, name, lambda d: _write_version(model, d, name, config))
    if keep:
        prune_versions(path.parent, keep)
    write_models_config(base)
    return path
