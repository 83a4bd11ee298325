"""encoders_tf: Keras/TensorFlow text encoders (Transformer and LSTM) that train with model.fit and serve
from TensorFlow Serving."""

import os

# TensorFlow's C++ INFO and WARNING lines drown the progress bars; a value the user set wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from encoders_tf import layers
from encoders_tf.config import PRESETS, EncoderConfig
from encoders_tf.encoders import LSTMEncoder, TransformerEncoder, build_encoder
from encoders_tf.text import WordPieceTokenizer

__version__ = "0.1.0"
__all__ = ["EncoderConfig", "LSTMEncoder", "PRESETS", "TransformerEncoder", "WordPieceTokenizer", "build_encoder",
           "layers"]
