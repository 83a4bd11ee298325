"""Task models: keras.Model subclasses holding their tokenizer, encoder and head as attributes."""

from encoders_tf.tasks.classifier import TextClassifier, class_probabilities
from encoders_tf.tasks.distillation import Distillation
from encoders_tf.tasks.masked_lm import MaskedLanguageModel
from encoders_tf.tasks.tagger import TokenClassifier
from encoders_tf.tasks.task import TEXT_PAIR_SPEC, TEXT_SPEC, Task, TextEncoder
from encoders_tf.tasks.token_accuracy import TokenAccuracy

__all__ = ["Distillation", "MaskedLanguageModel", "TEXT_PAIR_SPEC", "TEXT_SPEC", "Task", "TextClassifier", "TextEncoder", "TokenAccuracy",
           "TokenClassifier", "class_probabilities"]
