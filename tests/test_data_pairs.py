"""Pairs of texts in data: MRPC (GLUE layout, byte-order mark, bare quotes), pair files, aligned splits that
keep linked pairs together, tf.data batches of pairs, and errors naming file, line and what is accepted."""

import codecs
import csv
import gzip
import json

import numpy as np
import pytest

from encoders_tf.data import DataError, Split, load_dataset, load_file, to_tf_dataset
from encoders_tf.data.mrpc import load_mrpc
from encoders_tf.data.splits import capped, carve
from tests.conftest import SHARED_DATA

SPLIT_NAMES = ("train", "validation", "test")
MRPC_HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"


def _needs(path):
    if not path.exists():
        pytest.skip(f"needs {path} (see ../shared/data/README.md)")


def _write(path, text, bom=False):
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))
    return str(path)


def _examples(split):
    return list(zip(split.texts, split.pairs, split.labels.tolist()))


# --- MRPC ---------------------------------------------------------------------------------------------------

@pytest.mark.slow  # real data
def test_mrpc_from_shared_data():
    _needs(SHARED_DATA / "mrpc" / "train.tsv")
    data = load_dataset("mrpc", data_dir=str(SHARED_DATA))
    assert data.class_names == ("not_paraphrase", "paraphrase") and data.has_pairs
    # This copy holds 3,667 training pairs (GLUE's train.tsv is said to have 3,668) and GLUE's 408 dev pairs.
    assert len(data.train) + len(data.validation) == 3_667 and len(data.test) == 408
    assert np.bincount(data.test.labels).tolist() == [129, 279]
    assert np.bincount(np.concatenate([data.train.labels, data.validation.labels])).tolist() == [1_194, 2_473]
    assert 0.09 < len(data.validation) / 3_667 < 0.12
    # Every example is a row of the files: first text, second text and label still aligned after shuffling.
    rows = {}
    for name in ("train.tsv", "dev.tsv"):
        with open(SHARED_DATA / "mrpc" / name, encoding="utf-8-sig", newline="") as f:
            rows.update({(row["#1 String"], row["#2 String"]): int(row["Quality"])
                         for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)})
    for split in (data.train, data.validation, data.test):
        assert all(rows[(text, pair)] == label for text, pair, label in _examples(split))
    # Bare quote characters are text (GLUE reads with QUOTE_NONE), and no sentence is in train and validation.
    assert any(pair.startswith('" ') for pair in data.test.pairs)
    train = set(data.train.texts) | set(data.train.pairs)
    assert not train & (set(data.validation.texts) | set(data.validation.pairs))
    again = load_dataset("mrpc", data_dir=str(SHARED_DATA))
    assert _examples(again.validation) == _examples(data.validation)
    assert _examples(load_dataset("mrpc", data_dir=str(SHARED_DATA), seed=1).validation) != _examples(data.validation)


@pytest.mark.slow  # real data
def test_mrpc_files_start_with_a_byte_order_mark_and_in_file_order():
    _needs(SHARED_DATA / "mrpc" / "dev.tsv")
    assert (SHARED_DATA / "mrpc" / "dev.tsv").read_bytes().startswith(codecs.BOM_UTF8)
    train, test, class_names, skipped = load_mrpc(SHARED_DATA)
    assert (len(train), len(test), skipped) == (3_667, 408, 0)
    assert test.texts[0].startswith("He said the foodservice pie business doesn 't fit")
    assert test.pairs[0] == '" The foodservice pie business does not fit our long-term growth strategy .'
    assert class_names[int(test.labels[0])] == "paraphrase"


@pytest.mark.parametrize("bom", [True, False])
def test_mrpc_in_a_data_dir_with_or_without_the_mark(tmp_path, bom):
    folder = tmp_path / "mrpc"
    folder.mkdir()
    rows = "".join(f"{i % 2}\t{i}\t{i + 100}\tfirst \"sentence\" {i} .\tsecond sentence {i} .\n" for i in range(30))
    _write(folder / "train.tsv", MRPC_HEADER + rows, bom=bom)
    _write(folder / "dev.tsv", MRPC_HEADER + "1\t7\t8\tHe left .\tHe went away .\n", bom=bom)
    data = load_dataset("mrpc", data_dir=str(tmp_path))
    assert _examples(data.test) == [("He left .", "He went away .", 1)]
    assert len(data.train) == 27 and len(data.validation) == 3
    assert all(text == f'first "sentence" {text.split()[2]} .' for text in data.train.texts)
    assert all(pair.split()[2] == text.split()[2] and label == int(text.split()[2]) % 2
               for text, pair, label in _examples(data.train))


def test_mrpc_errors_name_the_file_the_line_and_what_is_accepted(tmp_path):
    folder = tmp_path / "mrpc"
    folder.mkdir()
    with pytest.raises(DataError, match=r"MRPC train\.tsv not found; looked in .*mrpc/train\.tsv"):
        load_dataset("mrpc", data_dir=str(tmp_path))
    _write(folder / "train.tsv", MRPC_HEADER + "1\t1\t2\tHe left .\tHe went away .\n2\t3\t4\tA .\tB .\n", bom=True)
    _write(folder / "dev.tsv", MRPC_HEADER + "1\t1\t2\tHe left .\tHe went away .\n", bom=True)
    with pytest.raises(DataError, match=r"mrpc/train\.tsv, line 3: label '2' is not a class id \(accepted: 0 "
                                        r"\(not_paraphrase\), 1 \(paraphrase\)\) \(--skip-bad-rows skips such rows\)"):
        load_dataset("mrpc", data_dir=str(tmp_path))
    _write(folder / "train.tsv", MRPC_HEADER + "1\t1\t2\tHe left .\t \n", bom=True)
    with pytest.raises(DataError, match=r"mrpc/train\.tsv, line 2: the second text \(column '#2 String'\) is empty "
                                        r"or missing; accepted: rows with a non-empty text in both '#1 String' and "
                                        r"'#2 String' \(--skip-bad-rows skips such rows\)"):
        load_dataset("mrpc", data_dir=str(tmp_path))
    _write(folder / "train.tsv", "Quality\t#1 ID\t#2 ID\t#1 String\n1\t1\t2\tHe left .\n", bom=True)
    with pytest.raises(DataError, match=r"mrpc/train\.tsv: no column '#2 String'; the columns are Quality, #1 ID, "
                                        r"#2 ID, #1 String \(choose with --text-column/--label-column/"
                                        r"--text-pair-column\)"):
        load_dataset("mrpc", data_dir=str(tmp_path))
    with pytest.raises(DataError, match=r"apply to files; the named data set 'mrpc' has fixed columns \(got "
                                        r"text_column=None, label_column=None, text_pair_column='s2'\)"):
        load_dataset("mrpc", data_dir=str(tmp_path), text_pair_column="s2")


# --- pair files ---------------------------------------------------------------------------------------------

def test_pair_files_csv_tsv_jsonl_and_gzip(tmp_path):
    expected = [("He left.", 'He "went" away.', 1), ("A cat, sat.", "A dog stood.", 0), ("Rain.", "Sun.", 2)]
    csv_path = tmp_path / "p.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "s1", "s2"])
        writer.writerows([(label, text, pair) for text, pair, label in expected])
    tsv_path = _write(tmp_path / "p.tsv", "s1\ts2\tlabel\n" + "".join(f"{t}\t{p}\t{y}\n" for t, p, y in expected),
                      bom=True)
    records = "".join(json.dumps({"s1": t, "s2": p, "label": y}) + "\n" for t, p, y in expected)
    jsonl_path = _write(tmp_path / "p.jsonl", records)
    gz_path = tmp_path / "p.jsonl.gz"
    gz_path.write_bytes(gzip.compress(records.encode("utf-8")))
    for path in (csv_path, tsv_path, jsonl_path, gz_path):
        file = load_file(path, text_column="s1", text_pair_column="s2")
        assert _examples(file) == expected and file.class_names == ("0", "1", "2") and file.has_pairs
    single = load_file(tsv_path, text_column="s1")
    assert single.pairs is None and not single.has_pairs and single.texts == ("He left.", "A cat, sat.", "Rain.")


def test_pair_file_errors_name_the_file_the_line_and_what_is_accepted(tmp_path):
    missing = _write(tmp_path / "m.tsv", "s1\tlabel\nHe left.\t1\n")
    with pytest.raises(DataError, match=r"m\.tsv: no column 's2'; the columns are s1, label \(choose with "
                                        r"--text-column/--label-column/--text-pair-column\)"):
        load_file(missing, text_column="s1", text_pair_column="s2")
    jsonl = _write(tmp_path / "m.jsonl", '{"s1": "He left.", "label": 1}\n')
    with pytest.raises(DataError, match=r"m\.jsonl: no field 's2'; the fields are s1, label"):
        load_file(jsonl, text_column="s1", text_pair_column="s2")
    short = _write(tmp_path / "s.tsv", "s1\ts2\tlabel\nA.\tB.\t1\nHe left.\t1\n")
    with pytest.raises(DataError, match=r"s\.tsv, line 3: 2 fields where the header has 3 \(s1, s2, label\)"):
        load_file(short, text_column="s1", text_pair_column="s2")
    empty = _write(tmp_path / "e.csv", 's1,s2,label\nA.,B.,1\nHe left.,"  ",0\n')
    with pytest.raises(DataError, match=r"e\.csv, line 3: the second text \(column 's2'\) is empty or missing; "
                                        r"accepted: rows with a non-empty text in both 's1' and 's2' "
                                        r"\(--skip-bad-rows skips such rows\)"):
        load_file(empty, text_column="s1", text_pair_column="s2")
    first_empty = _write(tmp_path / "f.csv", 's1,s2,label\n,B.,1\n')
    with pytest.raises(DataError, match=r"f\.csv, line 2: the first text \(column 's1'\) is empty or missing"):
        load_file(first_empty, text_column="s1", text_pair_column="s2")
    nulls = _write(tmp_path / "n.jsonl", '{"s1": "A.", "s2": "B.", "label": 1}\n{"s1": "C.", "s2": null, "label": 0}\n'
                                         '{"s1": "D.", "label": 0}\n')
    with pytest.raises(DataError, match=r"n\.jsonl, line 2: the second text \(column 's2'\) is empty or missing"):
        load_file(nulls, text_column="s1", text_pair_column="s2")
    file = load_file(nulls, text_column="s1", text_pair_column="s2", skip_bad_rows=True)
    assert _examples(file) == [("A.", "B.", 1)] and file.skipped_rows == 2  # null, and line 3's missing field
    with pytest.raises(DataError, match=r"n\.jsonl: no usable rows \(1 skipped\); expected rows of a text, a second "
                                        r"text and a label"):
        load_file(_write(tmp_path / "n.jsonl", '{"s1": "C.", "s2": "", "label": 0}\n'), text_column="s1",
                  text_pair_column="s2", skip_bad_rows=True)


# --- splits and tf.data -------------------------------------------------------------------------------------

def test_pair_splits_stay_aligned_and_linked_pairs_stay_together(tmp_path):
    # Sentence i is the second text of pair i and the first of pair i + 1 within chains of three pairs, so
    # pairs 3k, 3k+1, 3k+2 share sentences: they must land in the same split.
    rows = []
    for chain in range(40):
        sentences = [f"s{chain}-{j}" for j in range(4)]
        rows += [(sentences[j], sentences[j + 1], (chain + j) % 2) for j in range(3)]
    path = _write(tmp_path / "chains.tsv", "a\tb\tlabel\n" + "".join(f"{a}\t{b}\t{y}\n" for a, b, y in rows))
    data = load_dataset(path, text_column="a", text_pair_column="b", seed=3)
    assert data.has_pairs and [len(data.split(name)) for name in SPLIT_NAMES] == [96, 12, 12]  # 4 chains each
    chains = {name: {text.split("-")[0] for text in data.split(name).texts} for name in SPLIT_NAMES}
    assert not chains["train"] & chains["validation"] and not chains["train"] & chains["test"]
    assert not chains["validation"] & chains["test"]
    by_pair = {(a, b): y for a, b, y in rows}
    for name in SPLIT_NAMES:
        assert all(by_pair[(text, pair)] == label for text, pair, label in _examples(data.split(name)))
    capped_data = load_dataset(path, text_column="a", text_pair_column="b", seed=3, max_examples=5)
    assert _examples(capped_data.train) == _examples(data.train)[:5]
    # Single texts are grouped by text alone, exactly as before pairs existed.
    single = Split(["x", "y", "x", "z", "w", "y"], [0, 1, 0, 1, 0, 1])
    rest, part = carve(single, {"validation": 0.25}, seed=0)
    assert not set(rest.texts) & set(part.texts) and rest.pairs is None


def test_split_of_pairs_checks_lengths_and_take_keeps_alignment():
    split = Split(["a", "b", "c"], [0, 1, 0], pairs=["A", "B", "C"])
    assert _examples(split.take([2, 0])) == [("c", "C", 0), ("a", "A", 0)]
    assert _examples(capped(split, 2)) == [("a", "A", 0), ("b", "B", 1)]
    with pytest.raises(DataError, match=r"a split of pairs needs one second text per text; got 3 texts and 2 "
                                        r"second texts"):
        Split(["a", "b", "c"], [0, 1, 0], pairs=["A", "B"])
    with pytest.raises(DataError, match=r"cannot carve validation \(1\) out of 1 groups of pairs that share no text"):
        carve(Split(["a", "b"], [0, 1], pairs=["b", "a"]), {"validation": 0.5}, seed=0)


def test_tf_dataset_of_pairs():
    split = Split([f"first {i}" for i in range(10)], [i % 2 for i in range(10)],
                  pairs=[f"second {i}" for i in range(10)])
    batches = list(to_tf_dataset(split, 4))
    inputs, labels = batches[0]
    assert sorted(inputs) == ["text", "text_pair"] and labels.dtype.name == "int64"
    assert [batch[0]["text_pair"].shape.as_list() for batch in batches] == [[4], [4], [2]]
    assert inputs["text_pair"].numpy()[3].decode() == "second 3" and labels.numpy().tolist() == [0, 1, 0, 1]
    shuffled = [(a.decode(), b.decode(), int(y)) for inputs, labels in to_tf_dataset(split, 4, shuffle=True, seed=1)
                for a, b, y in zip(inputs["text"].numpy(), inputs["text_pair"].numpy(), labels.numpy())]
    assert sorted(shuffled) == sorted(_examples(split)) and shuffled != _examples(split)
    assert all(a.split()[1] == b.split()[1] and int(a.split()[1]) % 2 == y for a, b, y in shuffled)
    single, _ = next(iter(to_tf_dataset(Split(["a"], [0]), 1)))
    assert single.dtype.name == "string"  # single texts: (text, label) as before
