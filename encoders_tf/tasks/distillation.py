"""Distillation: a student TextClassifier trained on true labels and on a teacher's logits.

Keras' `keras.distillation.Distiller` runs the teacher in every step and feeds teacher and student the same
inputs. Here the teacher (e.g. MiniLM, with its own tokenizer) is run once over the transfer set and its
logits are cached, and the student reads its own tokenizer's features; so this model carries cached logits
as targets and uses Keras' `LogitsDistillation` for the matching term.
"""

import keras
from keras import ops

MATCHING = ("kl", "mse")


@keras.saving.register_keras_serializable(package="encoders_tf")
class Distillation(keras.Model):
    """Trains `student` with loss `alpha * CE(labels) + (1 - alpha) * match(teacher logits, student logits)`.

    `match` is "kl": KL(softmax(teacher / T) || softmax(student / T)) * T^2 (Hinton et al.; a two-class
    model's one logit z is read as the softmax logits [0, z]), or "mse": the mean squared difference of the
    logits (Tang et al.). Targets are `{"label": int [B], "teacher_logits": float [B, L]}`; a label
    of -1 (a text the teacher labelled, e.g. an augmented copy) has no cross-entropy term. Targets that are
    plain labels (validation data) give the cross-entropy alone. Metrics are the student's, on its
    probabilities.

    Args:
        student: a TextClassifier; the model trains its weights.
        alpha: weight of the cross-entropy with the true labels, in [0, 1].
        temperature: softens both distributions for "kl" (> 0); "mse" takes 1.
        matching: "kl" or "mse".

    Example:
    >>> from encoders_tf import EncoderConfig, build_encoder
    >>> from encoders_tf.tasks import TextClassifier
    >>> from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
    >>> vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
    >>> student = TextClassifier(WordPieceTokenizer(vocabulary, max_length=16),
    ...                          build_encoder(EncoderConfig.preset("lstm", vocabulary_size=len(vocabulary))), 2)
    >>> distillation = Distillation(student, alpha=0.0, temperature=2.0)
    >>> round(float(distillation.matching_loss(ops.convert_to_tensor([[2.0]]), ops.convert_to_tensor([[2.0]]))), 6)
    0.0
    """

    def __init__(self, student, alpha=0.5, temperature=1.0, matching="kl", **kwargs):
        super().__init__(**kwargs)
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha (the weight of the true labels' cross-entropy) must be in [0, 1], got {alpha!r}")
        if not temperature > 0:
            raise ValueError(f"the temperature must be > 0, got {temperature!r}")
        if matching not in MATCHING:
            raise ValueError(f"unknown matching {matching!r}; accepted: {', '.join(MATCHING)}")
        if matching == "mse" and temperature != 1:
            raise ValueError(f"the temperature softens probabilities for matching 'kl'; 'mse' compares logits, "
                             f"so it takes temperature 1, got {temperature!r}")
        self.student = student
        self.alpha = float(alpha)
        self.temperature = float(temperature)
        self.matching = matching
        # Loss instances, not names: LogitsDistillation softmaxes the logits only for a KLDivergence instance
        # (the name "kl_divergence" resolves to a function, which it would apply to the raw logits).
        self._match = keras.distillation.LogitsDistillation(
            temperature=self.temperature,
            loss=keras.losses.KLDivergence() if matching == "kl" else keras.losses.MeanSquaredError())
        two_classes = student.num_classes == 2
        self._cross_entropy = (keras.losses.BinaryCrossentropy(from_logits=True) if two_classes
                               else keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def build(self, input_shape=None):
        self.student.build()
        self.built = True

    def call(self, inputs, training=False):
        return self.student.logits(inputs, training=training)

    def matching_loss(self, teacher_logits, student_logits):
        """The batch mean of the matching term."""
        if self.matching == "kl":
            teacher_logits, student_logits = _softmax_logits(teacher_logits), _softmax_logits(student_logits)
        return self._match.compute_loss(teacher_logits, student_logits)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        labels, teacher_logits = (y["label"], y["teacher_logits"]) if isinstance(y, dict) else (y, None)
        labelled = ops.cast(labels >= 0, "float32")
        targets = ops.maximum(labels, 0)
        if self.student.num_classes == 2:
            targets = ops.expand_dims(ops.cast(targets, "float32"), -1)
        cross_entropy = self._cross_entropy(targets, y_pred, sample_weight=labelled)
        if teacher_logits is None:
            return cross_entropy
        return self.alpha * cross_entropy + (1 - self.alpha) * self.matching_loss(teacher_logits, y_pred)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        labels = y["label"] if isinstance(y, dict) else y
        return super().compute_metrics(x, labels, self.student.activate(y_pred), sample_weight=ops.cast(
            labels >= 0, "float32"))

    def get_config(self):
        config = super().get_config()
        config.update(student=keras.saving.serialize_keras_object(self.student), alpha=self.alpha,
                      temperature=self.temperature, matching=self.matching)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["student"] = keras.saving.deserialize_keras_object(config["student"])
        return cls(**config)


def _softmax_logits(logits):
    """One logit z [B, 1] -> the softmax logits [0, z] [B, 2]; [B, C] unchanged."""
    if logits.shape[-1] == 1:
        return ops.concatenate([ops.zeros_like(logits), logits], axis=-1)
    return logits
