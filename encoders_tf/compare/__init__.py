"""LSTM-vs-Transformer comparison runs."""

from encoders_tf.compare.demo import comparison_table, run_demo

__all__ = ["comparison_table", "run_demo"]
