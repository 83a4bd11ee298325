"""LSTM-vs-Transformer comparison: runs, measurements, report and plots.

`compare`, `CompareOptions` and `run_demo` load TensorFlow on first use; the statistics, the recommendation and
the report (numpy and matplotlib) import without it.
"""

import importlib

_LAZY = {"CompareOptions": "encoders_tf.compare.comparison", "compare": "encoders_tf.compare.comparison",
         "run_demo": "encoders_tf.compare.demo"}
__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'encoders_tf.compare' has no attribute {name!r}")
