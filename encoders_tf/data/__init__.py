"""Named data sets and labelled files -> train/validation/test splits of (text, label) or, for pairs such as
MRPC, (text, text pair, label), and tf.data.

Example:
>>> from encoders_tf.data import load_dataset, to_tf_dataset
>>> data = load_dataset("tweets", seed=0)
>>> len(data.train), len(data.validation), len(data.test)
(29795, 3724, 3724)
>>> batches = to_tf_dataset(data.train, 32, shuffle=True, seed=0)
"""

from encoders_tf.data.dataset import SPLITS, LabelledFile, Split, TextDataset, to_tf_dataset
from encoders_tf.data.errors import DataError
from encoders_tf.data.formats import FILE_SUFFIXES
from encoders_tf.data.load import DATASETS, load_dataset, load_file
from encoders_tf.data.locate import DATA_ENV

__all__ = ["DATASETS", "DATA_ENV", "DataError", "FILE_SUFFIXES", "LabelledFile", "SPLITS", "Split", "TextDataset",
           "load_dataset", "load_file", "to_tf_dataset"]
