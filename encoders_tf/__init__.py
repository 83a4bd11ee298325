"""encoders_tf: Keras/TensorFlow text encoders (Transformer and LSTM) that train with model.fit and serve
from TensorFlow Serving.

The heavy modules (TensorFlow, TF Text, Keras) load on first use of a name below, so `encoders-tf --help`
and `import encoders_tf.config` stay fast.
"""

import importlib
import os
import sys

# TensorFlow's C++ INFO and WARNING lines drown the progress bars; a value the user set wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_LAZY = {
    "EncoderConfig": "encoders_tf.config",
    "PRESETS": "encoders_tf.config",
    "LSTMEncoder": "encoders_tf.encoders",
    "TransformerEncoder": "encoders_tf.encoders",
    "build_encoder": "encoders_tf.encoders",
    "WordPieceTokenizer": "encoders_tf.text",
    "EncodersError": "encoders_tf.errors",
    "InputError": "encoders_tf.errors",
    "RunFailure": "encoders_tf.errors",
}
_SUBPACKAGES = ("checkpoints", "compare", "data", "distribute", "encoders", "export", "layers", "serving", "tasks",
                "text", "training")
__all__ = sorted([*_LAZY, *_SUBPACKAGES])


def __getattr__(name):
    if name in _LAZY or name in _SUBPACKAGES:
        module = importlib.import_module(_LAZY.get(name, f"encoders_tf.{name}"))
        value = getattr(module, name) if name in _LAZY else module
        globals()[name] = value
        return value
    raise AttributeError(f"module 'encoders_tf' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])


def register_keras_objects():
    """Registers every layer and model of the package with Keras, so `keras.models.load_model` finds them.

    Runs on `import encoders_tf` when Keras is already imported (then it costs nothing more), and whenever a
    module of the package that holds them is imported.
    """
    for module in ("layers", "encoders", "text", "tasks", "training.optimizers"):
        importlib.import_module(f"encoders_tf.{module}")


if "keras" in sys.modules:
    register_keras_objects()
