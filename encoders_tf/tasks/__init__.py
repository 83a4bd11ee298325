"""Task heads and task models."""

from encoders_tf.tasks.classifier import (build_classifier, class_probabilities, compile_classifier,
                                          num_classes_of)

__all__ = ["build_classifier", "class_probabilities", "compile_classifier", "num_classes_of"]
