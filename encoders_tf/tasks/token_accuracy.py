"""TokenAccuracy: the share of labelled positions whose arg-max class is the label, padding (-1) left out."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="encoders_tf")
class TokenAccuracy(keras.metrics.Metric):
    """Accuracy over the positions that have a label: those labelled `ignore_label` (padding, words a model
    cannot see) count neither as right nor as wrong.

    Args:
        ignore_label: the label of positions to leave out.
        name: the metric's name (default "accuracy", as Keras logs it).

    Example:
    >>> metric = TokenAccuracy()
    >>> metric.update_state([[1, 0, -1]], [[[0.2, 0.8], [0.1, 0.9], [0.9, 0.1]]])
    >>> float(metric.result())
    0.5
    """

    def __init__(self, ignore_label=-1, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ignore_label = ignore_label
        self.right = self.add_variable((), initializer="zeros", name="right", aggregation="sum")
        self.labelled = self.add_variable((), initializer="zeros", name="labelled", aggregation="sum")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """y_true int [..., W], y_pred float [..., W, C]; sample_weight, when given, weighs each position."""
        y_true = ops.cast(ops.convert_to_tensor(y_true), "int32")
        labelled = ops.cast(ops.not_equal(y_true, self.ignore_label), self.dtype)
        right = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), self.dtype) * labelled
        if sample_weight is not None:
            weight = ops.cast(ops.broadcast_to(sample_weight, ops.shape(y_true)), self.dtype)
            labelled, right = labelled * weight, right * weight
        self.right.assign_add(ops.sum(right))
        self.labelled.assign_add(ops.sum(labelled))

    def result(self):
        return ops.divide_no_nan(self.right, self.labelled)

    def reset_state(self):
        self.right.assign(0.0)
        self.labelled.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "ignore_label": self.ignore_label}
