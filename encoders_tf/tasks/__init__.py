"""Task heads and task models."""

from encoders_tf.tasks.classifier import (build_classifier, class_probabilities, compile_classifier,
                                          num_classes_of, token_ids_model, tokenize_dataset)

__all__ = ["build_classifier", "class_probabilities", "compile_classifier", "num_classes_of", "token_ids_model",
           "tokenize_dataset"]
