import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Scripts the tests run in processes of their own: never import them into the test process (mirrored_vs_single.py
# splits the CPU when imported), as `--doctest-modules` would.
collect_ignore = ["mirrored_vs_single.py", "multi_worker_train.py"]


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(1234)
    yield


def write_sentiment_csv(path, rows=120, seed=0, classes=2):
    """A small learnable CSV (text,label): class words mixed with shared filler words."""
    import csv
    import random

    rng = random.Random(seed)
    words = [["awful", "bad", "boring", "dull"], ["great", "good", "lovely", "superb"], ["okay", "fine", "average"]]
    filler = ["the", "film", "was", "really", "a", "plot", "story", "and", "acting"]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for index in range(rows):
            label = index % classes
            text = rng.sample(filler, 4) + rng.sample(words[label], 2)
            rng.shuffle(text)
            writer.writerow([" ".join(text), label])
    return path


@pytest.fixture
def sentiment_csv(tmp_path):
    return write_sentiment_csv(tmp_path / "sentiment.csv")
