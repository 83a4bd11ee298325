"""Tagged words (token classification, e.g. named entities): CoNLL-layout files, the named set `conll2003`,
train/validation/test splits of sentences with a tag per word, and tf.data batches of them.

The CoNLL layout: one `word ... TAG` line per word (the tag is the last whitespace-separated field, so the
original 4-column CoNLL-2003 files work as well as `word TAG` files), a blank line between sentences,
`-DOCSTART-` lines between documents (skipped).
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import tensorflow as tf

from encoders_tf.data import by_length
from encoders_tf.data.dataset import SPLITS
from encoders_tf.data.errors import DataError
from encoders_tf.data.locate import find_file
from encoders_tf.data.splits import capped, carve, shuffled

OUTSIDE = "O"
DOCSTART = "-DOCSTART-"
ACCEPTED_LINE = ("a word and its tag separated by whitespace (the tag last, e.g. 'Peter B-PER'), a blank line "
                 "between sentences, or a -DOCSTART- line")
TAG_PADDING = -1  # tag id of padding (and of words a model cannot see) in batches


@dataclasses.dataclass(frozen=True, eq=False)
class TaggedSplit:
    """Sentences as words, and a tag id per word.

    Args:
        words: the sentences, each a sequence of words (stored as a tuple of tuples of str); no word holds
            whitespace.
        tags: a tag id per word of each sentence (stored as a tuple of int32 arrays, aligned with `words`).

    Example:
    >>> split = TaggedSplit([["Peter", "left"]], [[1, 0]])
    >>> split.texts, split.tags[0].tolist(), len(split)
    (('Peter left',), [1, 0], 1)
    """

    words: tuple
    tags: tuple

    def __post_init__(self):
        object.__setattr__(self, "words", tuple(tuple(sentence) for sentence in self.words))
        object.__setattr__(self, "tags", tuple(np.asarray(t, dtype=np.int32).reshape(-1) for t in self.tags))
        if len(self.words) != len(self.tags):
            raise DataError(f"a tagged split needs the tags of every sentence; got {len(self.words)} sentences and "
                            f"{len(self.tags)} tag sequences")
        for index, (sentence, tags) in enumerate(zip(self.words, self.tags)):
            if len(sentence) != len(tags):
                raise DataError(f"sentence {index} has {len(sentence)} words and {len(tags)} tags; accepted: one "
                                f"tag per word")

    @property
    def texts(self) -> tuple:
        """Each sentence's words joined by single spaces (what a tagger reads)."""
        return tuple(" ".join(sentence) for sentence in self.words)

    @property
    def has_pairs(self) -> bool:  # read by `splits.carve`: sentences are single texts
        return False

    @property
    def groups(self):  # read by `splits.carve`: sentences are grouped by their text alone
        return None

    @property
    def word_count(self) -> int:
        return int(sum(len(sentence) for sentence in self.words))

    def __len__(self):
        return len(self.words)

    def __repr__(self):
        return f"{type(self).__name__}({len(self)} sentences, {self.word_count} words)"

    def take(self, indices) -> TaggedSplit:
        """The sentences at `indices`, in that order."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        return TaggedSplit(tuple(self.words[i] for i in indices), tuple(self.tags[i] for i in indices))


@dataclasses.dataclass(frozen=True, eq=False)
class TaggedDataset:
    """A tagged data set: train, validation and test splits and the tag names (index = tag id).

    Example:
    >>> data = load_tagged_dataset("conll2003", data_dir="../shared/data")
    >>> data.tag_names[:3], len(data.test)
    (('O', 'B-LOC', 'B-MISC'), 3250)
    """

    name: str
    train: TaggedSplit
    validation: TaggedSplit
    test: TaggedSplit
    tag_names: tuple

    def split(self, name: str) -> TaggedSplit:
        """The split called `name`: "train", "validation" or "test"."""
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; accepted: {', '.join(SPLITS)}")
        return getattr(self, name)


def read_conll(path) -> tuple[list, list, list]:
    """The sentences of a CoNLL-layout file, as words and tag names, and the line number of each sentence.

    Args:
        path: the file (UTF-8).

    Returns:
        (words: [[str]], tags: [[str]], first_lines: [int]), one entry per sentence.

    Raises:
        DataError: a line that is not `word TAG`, or a file without any sentence, naming file and line.

    Example:
    >>> words, tags, lines = read_conll("../shared/data/conll2003/valid.txt")
    >>> words[0], tags[0], lines[0]
    (['CRICKET', '-', 'LEICESTERSHIRE', ...], ['O', 'O', 'B-ORG', ...], 3)
    """
    path = pathlib.Path(path)
    sentences, tags, first_lines = [], [], []
    words_here, tags_here = [], []
    with open(path, encoding="utf-8", errors="strict") as file:
        try:
            for number, line in enumerate(file, start=1):
                fields = line.split()
                if fields and fields[0] == DOCSTART:
                    fields = []  # a document boundary ends a sentence too
                if not fields:
                    if words_here:
                        sentences.append(words_here)
                        tags.append(tags_here)
                        words_here, tags_here = [], []
                    continue
                if len(fields) < 2:
                    raise DataError(f"{path}, line {number}: {line.strip()!r:.80} is not `word TAG` (one field); "
                                    f"accepted: {ACCEPTED_LINE}")
                if not words_here:
                    first_lines.append(number)
                words_here.append(fields[0])
                tags_here.append(fields[-1])
        except UnicodeDecodeError as error:
            raise DataError(f"{path}, line {number}: not UTF-8 ({error.reason} at byte {error.start}); accepted: a "
                            f"UTF-8 text file in the CoNLL layout") from None
    if words_here:
        sentences.append(words_here)
        tags.append(tags_here)
    if not sentences:
        raise DataError(f"{path}: no sentence in the file; accepted: {ACCEPTED_LINE}")
    return sentences, tags, first_lines


def tag_names_of(tag_sequences) -> tuple:
    """The tag names in a fixed order: "O" first (when present), then the others sorted.

    Example:
    >>> tag_names_of([["B-PER", "O", "I-PER"], ["B-LOC"]])
    ('O', 'B-LOC', 'B-PER', 'I-PER')
    """
    names = {tag for sequence in tag_sequences for tag in sequence}
    return ((OUTSIDE,) if OUTSIDE in names else ()) + tuple(sorted(names - {OUTSIDE}))


def to_tagged_split(path, words, tags, first_lines, tag_names) -> TaggedSplit:
    """A TaggedSplit from `read_conll`'s output; a tag outside `tag_names` raises a DataError naming its line."""
    index = {name: i for i, name in enumerate(tag_names)}
    ids = []
    for sentence, sentence_tags, first_line in zip(words, tags, first_lines):
        for offset, tag in enumerate(sentence_tags):
            if tag not in index:
                raise DataError(f"{path}, line {first_line + offset}: tag {tag!r} (word {sentence[offset]!r}) is not a "
                                f"tag of the training split; accepted: {', '.join(tag_names)}")
        ids.append([index[tag] for tag in sentence_tags])
    return TaggedSplit(words, ids)


def load_conll2003(data_dir=None):
    """CoNLL-2003 from `<data_dir>/conll2003/{train,valid}.txt` (or the files directly in `<data_dir>`).

    Returns:
        (train TaggedSplit, test TaggedSplit (valid.txt: the reported split), tag names fixed by train.txt).

    Example:
    >>> train, test, tag_names = load_conll2003("../shared/data")
    >>> len(train), len(test), len(tag_names)
    (14041, 3250, 9)
    """
    paths = [find_file(f"CoNLL-2003 {name}", [pathlib.Path("conll2003") / name, name], data_dir)
             for name in ("train.txt", "valid.txt")]
    train, test = read_conll(paths[0]), read_conll(paths[1])
    tag_names = tag_names_of(train[1])
    return (to_tagged_split(paths[0], *train, tag_names), to_tagged_split(paths[1], *test, tag_names), tag_names)


NAMED_TAGGED = {"conll2003": load_conll2003}
TAGGED_DATASETS = tuple(NAMED_TAGGED)


def load_tagged_dataset(name: str = "conll2003", *, data_dir=None, seed: int = 0, validation_fraction: float = 0.1,
                        test_fraction: float = 0.1, max_examples: int | None = None) -> TaggedDataset:
    """Train, validation and test splits of tagged sentences, deterministic for a seed.

    `conll2003`: valid.txt is the test split (the one reported, as GLUE dev is for SST-2); validation is carved
    from train.txt. A CoNLL-layout file given by path: validation and test are both carved from it. Identical
    sentences land in the same split. Tag names come from the training file: "O" first, then sorted.

    Args:
        name: "conll2003", or the path of a CoNLL-layout file.
        data_dir: the folder holding named data sets' files (default $ENCODERS_TF_DATA).
        seed: fixes the carved splits and every split's order.
        validation_fraction: share of the unique training sentences carved out as validation, in [0, 1); 0: no
            validation split.
        test_fraction: share carved out as test from a file, in (0, 1).
        max_examples: keep at most this many sentences of each split.

    Raises:
        DataError: an unknown name, a missing or malformed file, a tag of the test file unknown to train.

    Example:
    >>> data = load_tagged_dataset("conll2003", data_dir="../shared/data", max_examples=500)
    >>> len(data.train), data.tag_names[0]
    (500, 'O')
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    if max_examples is not None and (isinstance(max_examples, bool) or
                                     not isinstance(max_examples, (int, np.integer)) or max_examples < 1):
        raise DataError(f"max_examples must be a positive integer or None, got {max_examples!r}")
    if name in NAMED_TAGGED:
        pool, test, tag_names = NAMED_TAGGED[name](data_dir)
        train, validation = carve(pool, {"validation": validation_fraction}, seed)
        test = shuffled(test, seed)
    else:
        path = pathlib.Path(name)
        if not path.is_file():
            raise DataError(f"unknown tagged dataset {str(name)!r}; accepted: {', '.join(TAGGED_DATASETS)}, or the "
                            f"path of an existing file in the CoNLL layout ({ACCEPTED_LINE})")
        words, tags, lines = read_conll(path)
        tag_names = tag_names_of(tags)
        pool = to_tagged_split(path, words, tags, lines, tag_names)
        train, validation, test = carve(pool, {"validation": validation_fraction, "test": test_fraction}, seed)
    splits = [capped(split, max_examples) for split in (train, validation, test)]
    return TaggedDataset(str(name), *splits, tag_names=tuple(tag_names))


def tagged_tf_dataset(split: TaggedSplit, batch_size: int, *, shuffle: bool = False, seed: int = 0,
                      group_by_length: bool = False) -> tf.data.Dataset:
    """Batches of (text tf.string [B]: the words joined by single spaces, tags int32 [B, W] padded with -1),
    W the most words of a sentence in the batch; prefetched; the last batch may be smaller.

    Args:
        split: the sentences.
        batch_size: sentences per batch.
        shuffle: reshuffle every epoch, in an order fixed by `seed`.
        seed: the shuffle seed.
        group_by_length: batches of sentences of similar length (encoders_tf.data.by_length), which pad less.

    Example:
    >>> texts, tags = next(iter(tagged_tf_dataset(TaggedSplit([["Peter", "left"], ["Hi"]], [[1, 0], [0]]), 2)))
    >>> texts.numpy().tolist(), tags.numpy().tolist()
    ([b'Peter left', b'Hi'], [[1, 0], [0, -1]])
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise DataError(f"batch_size must be a positive integer, got {batch_size!r}")
    texts = tf.constant(list(split.texts), dtype=tf.string, shape=[len(split)])
    lengths = np.array([len(tags) for tags in split.tags], dtype=np.int64)
    values = np.concatenate(split.tags) if len(split) else np.zeros([0], np.int32)
    tags = tf.RaggedTensor.from_row_lengths(tf.constant(values, tf.int32), tf.constant(lengths))
    dataset = tf.data.Dataset.from_tensor_slices((texts, tags))
    if shuffle:
        dataset = dataset.shuffle(max(1, len(split)), seed=seed, reshuffle_each_iteration=True)
    if group_by_length:
        dataset = by_length.group_by_length(dataset, batch_size, seed if shuffle else None, ragged=True)
    else:
        dataset = dataset.ragged_batch(batch_size)
    return dataset.map(lambda text, tags: (text, tags.to_tensor(default_value=TAG_PADDING)),
                       ).prefetch(tf.data.AUTOTUNE)
