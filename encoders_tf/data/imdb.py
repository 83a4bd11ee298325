"""IMDB movie reviews (Maas et al. 2011): binary sentiment, 25,000 train and 25,000 test reviews.

Two layouts: gzipped CSV `imdb/{train,test}.csv.gz` (header text,label, standard quoting), or the original
folders `aclImdb/{train,test}/{neg,pos}/<id>_<rating>.txt`. neg = 0, pos = 1.
"""

from __future__ import annotations

import pathlib

from encoders_tf.data.dataset import Split
from encoders_tf.data.errors import DataError
from encoders_tf.data.formats import Row, decode, read_rows
from encoders_tf.data.labelled import class_id_label, collect
from encoders_tf.data.locate import DATA_ENV, candidates, places_looked

CLASS_NAMES = ("negative", "positive")
POLARITIES = ("neg", "pos")  # aclImdb folder names, in class id order
SPLIT_NAMES = ("train", "test")


def load_imdb(data_dir=None, skip_bad_rows=False):
    """IMDB from `<data_dir>/imdb/{train,test}.csv.gz` (or the files directly in `<data_dir>`), else from
    an aclImdb folder: `<data_dir>/aclImdb` or `<data_dir>` itself.

    Returns:
        (train Split, test Split, class names, rows skipped).

    Example:
    >>> train, test, class_names, _ = load_imdb("../shared/data")
    >>> len(train), len(test)
    (25000, 25000)
    """
    splits, skipped = [], 0
    for source, rows in _sources(data_dir):
        texts, labels, skipped_here = collect(rows, class_id_label(CLASS_NAMES), skip_bad_rows, source=source)
        splits.append(Split(texts, labels))
        skipped += skipped_here
    return splits[0], splits[1], CLASS_NAMES, skipped


def _sources(data_dir):
    """(name, rows) of the train and test split, from the first complete layout found."""
    csv_paths = [candidates(data_dir, [pathlib.Path("imdb") / f"{split}.csv.gz", f"{split}.csv.gz"])
                 for split in SPLIT_NAMES]
    csv_files = [next((path for path in paths if path.is_file()), None) for paths in csv_paths]
    if all(csv_files):
        return [(str(path), read_rows(path, ("text", "label"))) for path in csv_files]
    folders = candidates(data_dir, ["aclImdb", "."])
    for folder in folders:
        if all((folder / split / polarity).is_dir() for split in SPLIT_NAMES for polarity in POLARITIES):
            return [(str(folder / split), _review_rows(folder / split)) for split in SPLIT_NAMES]
    tried = [path for paths in csv_paths for path in paths] + folders
    raise DataError(f"IMDB not found: expected train.csv.gz and test.csv.gz, or an aclImdb folder whose train/ "
                    f"and test/ hold neg/ and pos/; {places_looked(data_dir, tried)}; point --data-dir or "
                    f"${DATA_ENV} at the folder that holds them")


def _review_rows(folder: pathlib.Path):
    """One Row per review file of `folder`/{neg,pos}, in file-number order (0_3.txt, 1_1.txt, ...)."""
    for label, polarity in enumerate(POLARITIES):
        for path in sorted((folder / polarity).glob("*.txt"), key=_file_number):
            yield Row(str(path), (decode(path.read_bytes()), str(label)))


def _file_number(path: pathlib.Path):
    number = path.stem.split("_")[0]
    return (0, int(number), path.name) if number.isdigit() else (1, 0, path.name)
