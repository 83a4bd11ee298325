"""TimeBudget: a Keras callback that ends training once it has run for a given time."""

import time

import keras


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the first batch end after `seconds` of training (the epoch's validation still runs).

    Args:
        seconds: the training time allowed, > 0.

    Example:
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> import numpy as np
    >>> ones = np.ones((64, 1))
    >>> history = model.fit(ones, ones, batch_size=1, epochs=100, verbose=0, callbacks=[TimeBudget(1e-9)])
    >>> len(history.history["loss"])  # stopped in the first epoch
    1
    """

    def __init__(self, seconds):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"a time budget must be > 0 seconds, got {seconds!r}")
        self.seconds = seconds
        self.started = None

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.started >= self.seconds and not self.model.stop_training:
            self.model.stop_training = True
