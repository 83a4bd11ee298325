"""`encoders-tf train ARGS...` exactly as the CLI runs it, plus what a test needs to compare workers.

    WEIGHTS_FILE=w0.npz python tests/multi_worker_train.py train --strategy multi_worker ...

After training, this process (every worker, not only the chief) writes to $WEIGHTS_FILE the trained
weights and the loss Keras reported after each step (`step_loss`). With $NO_DROPOUT set, the classifier is
built without dropout, so that runs over different numbers of replicas can be compared step for step
(each replica draws its own dropout masks). With $PAUSE_AT="EPOCH:STEP" (0-based), the process stops
after that step of that epoch, writes $PAUSE_FILE and sleeps, for a test to kill it there. With
$LINGER_SECONDS, it waits that long after training before it finishes (a slow worker at the end). Exits with
the CLI's exit code.
"""

import dataclasses
import os
import sys
import time

import keras
import numpy as np

from encoders_tf import cli
from encoders_tf.training import classifier as trainer
from encoders_tf.training import driver


class StepLosses(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.losses, self.epoch = [], None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))
        if os.environ.get("PAUSE_AT") == f"{self.epoch}:{batch}":
            with open(os.environ["PAUSE_FILE"], "w") as file:
                file.write(f"paused after step {batch} of epoch {self.epoch}\n")
            time.sleep(600)


def dumping_weights(fit):
    def fit_and_dump(model, *args, callbacks=(), **kwargs):
        recorder = StepLosses()
        history = fit(model, *args, callbacks=[*callbacks, recorder], **kwargs)
        np.savez(os.environ["WEIGHTS_FILE"], *model.get_weights(), step_loss=np.array(recorder.losses))
        return history
    return fit_and_dump


def without_dropout(build_encoder, text_classifier):
    def encoder(config, **kwargs):
        return build_encoder(dataclasses.replace(config, dropout=0.0, attention_dropout=0.0), **kwargs)

    def classifier(*args, **kwargs):
        return text_classifier(*args, **{**kwargs, "dropout": 0.0})
    return encoder, classifier


def lingering(train_classifier, seconds):
    def train_and_linger(*args, **kwargs):
        run = train_classifier(*args, **kwargs)
        time.sleep(seconds)
        return run
    return train_and_linger


def main(argv):
    driver.fit = dumping_weights(driver.fit)
    if os.environ.get("LINGER_SECONDS"):
        trainer.train_classifier = lingering(trainer.train_classifier, float(os.environ["LINGER_SECONDS"]))
    if os.environ.get("NO_DROPOUT"):
        driver.build_encoder, trainer.TextClassifier = without_dropout(driver.build_encoder, trainer.TextClassifier)
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
