"""Optimizers: Adam for training from scratch, and the fine-tuning recipe (AdamW, linear warm-up and decay,
no weight decay on biases and normalization weights, global gradient clipping), from Keras' own pieces."""

import keras

# Variable names (Keras' last path component) that get no weight decay: biases, and the LayerNorm/RMSNorm
# scales and offsets.
NO_WEIGHT_DECAY = ["bias", "gamma", "beta", "scale"]


@keras.saving.register_keras_serializable(package="encoders_tf")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """A linear warm-up from 0 to the peak over `warmup_steps`, then `after` (counted from the warm-up's end).

    Keras ships linear decay (`PolynomialDecay(power=1)`) but its warm-up only in front of `CosineDecay`.

    Args:
        peak: the learning rate reached at the end of the warm-up.
        warmup_steps: steps of warm-up (0: none).
        after: the schedule that follows, called with the steps since the warm-up ended.

    Example:
    >>> schedule = LinearWarmup(1e-3, 10, keras.optimizers.schedules.PolynomialDecay(1e-3, 90, 0.0))
    >>> [round(float(schedule(step)), 6) for step in (0, 5, 10, 55, 100)]
    [0.0, 0.0005, 0.001, 0.0005, 0.0]
    """

    def __init__(self, peak, warmup_steps, after):
        self.peak = peak
        self.warmup_steps = int(warmup_steps)
        self.after = after

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warmup = keras.ops.cast(self.warmup_steps, "float32")
        rising = self.peak * step / keras.ops.maximum(warmup, 1.0)
        return keras.ops.where(step < warmup, rising, self.after(step - warmup))

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps,
                "after": keras.saving.serialize_keras_object(self.after)}

    @classmethod
    def from_config(cls, config):
        return cls(config["peak"], config["warmup_steps"], keras.saving.deserialize_keras_object(config["after"]))


def fine_tuning_optimizer(learning_rate, total_steps, warmup=0.1, weight_decay=0.01, clip_norm=1.0, ema=None):
    """AdamW with linear warm-up over `warmup` of the steps and linear decay to zero, as BERT fine-tunes.

    Args:
        learning_rate: the peak learning rate.
        total_steps: the optimizer steps of the whole run (epochs x batches per epoch).
        warmup: the fraction of `total_steps` spent warming up, in [0, 1).
        weight_decay: decoupled weight decay; biases and normalization weights get none.
        clip_norm: clip the global gradient norm to this (None: no clipping).
        ema: keep an exponential moving average of the weights with this momentum (Keras' `use_ema`), which
            `finalize_variable_values` puts in the model at the end of training (None: no average).

    Example:
    >>> optimizer = fine_tuning_optimizer(3e-5, total_steps=1000)
    >>> float(optimizer.learning_rate)  # step 0 of the warm-up
    0.0
    """
    warmup_steps = int(round(warmup * total_steps))
    decay = keras.optimizers.schedules.PolynomialDecay(learning_rate, max(1, total_steps - warmup_steps),
                                                       end_learning_rate=0.0, power=1.0)
    optimizer = keras.optimizers.AdamW(LinearWarmup(learning_rate, warmup_steps, decay), weight_decay=weight_decay,
                                       global_clipnorm=clip_norm, use_ema=ema is not None,
                                       ema_momentum=0.99 if ema is None else ema)
    optimizer.exclude_from_weight_decay(var_names=NO_WEIGHT_DECAY)
    return optimizer
