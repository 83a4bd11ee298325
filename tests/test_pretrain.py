"""`pretrain`: text sources (load_corpus), held-out split, and tiny end-to-end masked-LM runs."""

import gzip
import json
import math

import numpy as np
import pytest

from encoders_tf.data import DataError
from encoders_tf.data.corpus import load_corpus
from encoders_tf.errors import InputError
from encoders_tf.tasks import MaskedLanguageModel
from encoders_tf.training.pretrain import PretrainOptions, hold_out, pretrain
from encoders_tf.training.runs import load_run

from tests.conftest import SHARED_DATA

SENTENCES = ["the cat sat on the mat", "the dog sat on the log", "a bird sang in the tree",
             "the cat chased the dog", "a fish swam in the pond", "the dog chased the cat"]


# --- text sources ---------------------------------------------------------------------------------------------

def test_text_file_is_one_document_a_line(tmp_path):
    path = tmp_path / "text.txt"
    path.write_bytes(b"first document\n\n  \nsecond \xff document\r\nthird\n")
    corpus = load_corpus(text_file=path)
    assert corpus.documents == ("first document", "second \ufffd document", "third")
    assert len(load_corpus(text_file=path, max_documents=2)) == 2
    gz = tmp_path / "text.txt.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert load_corpus(text_file=gz).documents == corpus.documents


def test_text_directory_is_one_document_a_file(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text("second\nfile, two lines")
    (tmp_path / "1.txt").write_text("first file")
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "notes.md").write_text("not a .txt file")
    assert load_corpus(text_dir=tmp_path).documents == ("first file", "second\nfile, two lines")


def test_no_documents_names_the_source_and_what_is_accepted(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    with pytest.raises(DataError, match=r"empty.txt: no documents .*accepted: a text file with one document a line"):
        load_corpus(text_file=empty)
    with pytest.raises(DataError, match=r"no documents .*accepted: a directory holding non-empty .txt files"):
        load_corpus(text_dir=_empty_dir(tmp_path))
    with pytest.raises(DataError, match="not found"):
        load_corpus(text_file=tmp_path / "missing.txt")


def _empty_dir(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    return folder


def test_exactly_one_source_and_known_splits(tmp_path):
    with pytest.raises(DataError, match=r"exactly one text source, got 0 \(none\)"):
        load_corpus()
    with pytest.raises(DataError, match=r"got 2 \(dataset, text_file\)"):
        load_corpus("imdb", text_file=tmp_path / "a.txt")
    with pytest.raises(DataError, match=r"unknown split 'unsup' of sst2; accepted: train, validation, test"):
        load_corpus("sst2", splits="unsup")
    with pytest.raises(DataError, match=r"unknown split 'validation' of imdb; accepted: train, test, unsup"):
        load_corpus("imdb", splits="unsup,validation")


@pytest.mark.slow  # real data
@pytest.mark.skipif(not (SHARED_DATA / "imdb" / "unsup.csv.gz").is_file(),
                    reason=f"needs {SHARED_DATA / 'imdb' / 'unsup.csv.gz'}")
def test_imdb_unsup_reviews():
    corpus = load_corpus("imdb", splits="unsup", data_dir=SHARED_DATA, max_documents=300)
    assert len(corpus) == 300 and corpus.source == "imdb (unsup)"
    assert all(len(document.split()) > 5 for document in corpus.documents)
    assert len(set(corpus.documents)) > 290


def test_hold_out_takes_whole_documents_by_seed():
    documents = [f"document {i}" for i in range(100)]
    train, held_out = hold_out(documents, 0.1, seed=0)
    assert len(held_out) == 10 and sorted(train + held_out) == sorted(documents)
    assert hold_out(documents, 0.1, seed=0) == (train, held_out)
    assert hold_out(documents, 0.1, seed=1)[1] != held_out
    with pytest.raises(DataError, match="at least 2"):
        hold_out(["alone"], 0.1, seed=0)


# --- runs -----------------------------------------------------------------------------------------------------

def tiny_options(tmp_path, text_file, **overrides):
    options = dict(model="transformer-tiny", text_file=str(text_file), max_length=16, vocabulary_size=60,
                   epochs=1, batch_size=16, held_out=0.2, out=str(tmp_path / "run"), backup_every=None, seed=0)
    options.update(overrides)
    return PretrainOptions(**options)


@pytest.fixture
def repetitive_text(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(rng.choice(SENTENCES, size=3)) for _ in range(200)) + "\n")
    return path


@pytest.mark.slow  # trains
@pytest.mark.parametrize("model", ["transformer-tiny", "bilstm"])
def test_one_epoch_writes_a_loadable_run(tmp_path, repetitive_text, model):
    run = pretrain(tiny_options(tmp_path, repetitive_text, model=model), verbose=0)
    run_dir = tmp_path / "run"
    assert {"model.keras", "run.json", "history.json", "metrics.json", "vocab.txt"} <= {
        p.name for p in run_dir.iterdir()}
    assert not (run_dir / "backup").exists()
    loaded, info = load_run(run_dir, task=MaskedLanguageModel)
    assert info["task"] == "MaskedLanguageModel" and info["documents"] == {"train": 160, "held_out": 40}
    assert loaded.tokenizer.get_vocabulary()[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert loaded.encoder.token_embedding is loaded.head.token_embedding
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["val_masked_accuracy"]) == 1 and len(history["val_perplexity"]) == 1
    assert 0.0 <= history["val_masked_accuracy"][0] <= 1.0
    # guessing uniformly gives the vocabulary's size (60); one epoch of repetitive text already does better
    # (measured: 42 for the Transformer, 15 for the BiLSTM)
    assert history["val_perplexity"][0] < 0.8 * run["vocabulary_size"], history["val_perplexity"]
    # and it is exp of the masked tokens' mean cross-entropy (the loss averages batches' means: within 2%)
    assert history["val_perplexity"][0] == pytest.approx(math.exp(history["val_loss"][0]), rel=0.02)
    assert json.loads((run_dir / "metrics.json").read_text())["perplexity"] == history["val_perplexity"][0]
    # the encoder is usable on its own: what `train --init` takes
    assert loaded.encode(["the cat sat"]).shape == (1, loaded.encoder.output_size)


@pytest.mark.slow  # trains
def test_loss_goes_down_on_a_repetitive_corpus(tmp_path, repetitive_text):
    run = pretrain(tiny_options(tmp_path, repetitive_text, epochs=6, learning_rate=3e-3), verbose=0)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history["val_perplexity"][-1] < 0.5 * history["val_perplexity"][0]
    assert history["val_masked_accuracy"][-1] > history["val_masked_accuracy"][0] + 0.1
    assert run["held_out_metrics"]["perplexity"] == history["val_perplexity"][-1]


def test_bad_options_are_input_errors(tmp_path, repetitive_text):
    with pytest.raises(InputError, match="unknown model 'gpt'; accepted: lstm, bilstm, transformer"):
        pretrain(tiny_options(tmp_path, repetitive_text, model="gpt"), verbose=0)
    with pytest.raises(InputError, match=r"held_out must be a fraction in \(0, 1\), got 1.5"):
        pretrain(tiny_options(tmp_path, repetitive_text, held_out=1.5), verbose=0)


@pytest.mark.slow  # trains
def test_a_pretraining_run_initializes_train_and_pretrain(tmp_path, repetitive_text, sentiment_csv):
    from encoders_tf.training.classifier import TrainOptions, train_classifier

    pretrain(tiny_options(tmp_path, repetitive_text), verbose=0)
    pretrained, _ = load_run(tmp_path / "run")
    run = train_classifier(TrainOptions(init=str(tmp_path / "run"), dataset=str(sentiment_csv), epochs=1,
                                        batch_size=16, out=str(tmp_path / "fine-tuned"), backup_every=None),
                           verbose=0)
    assert run["encoder_config"]["vocabulary_size"] == pretrained.tokenizer.vocabulary_size
    assert (tmp_path / "fine-tuned" / "vocab.txt").read_text() == (tmp_path / "run" / "vocab.txt").read_text()
    classifier, _ = load_run(tmp_path / "fine-tuned")
    assert classifier.tokenizer.get_vocabulary() == pretrained.tokenizer.get_vocabulary()
    # and `pretrain --init` continues pretraining it (domain adaptation): same tokenizer, trained further
    run = pretrain(tiny_options(tmp_path, repetitive_text, init=str(tmp_path / "run"), out=str(tmp_path / "more"),
                                model="not-used"), verbose=0)
    continued, _ = load_run(tmp_path / "more", task=MaskedLanguageModel)
    assert continued.tokenizer.get_vocabulary() == pretrained.tokenizer.get_vocabulary()
    assert run["optimizer"]["learning_rate"] == 3e-5
    assert not np.array_equal(continued.encoder.token_embedding.embeddings.numpy(),
                              pretrained.encoder.token_embedding.embeddings.numpy())
    # its head too: a few steps at 3e-5 move each weight by < 1e-3; a new head (stddev 0.02) would not be near
    np.testing.assert_allclose(continued.head.dense.kernel.numpy(), pretrained.head.dense.kernel.numpy(), atol=2e-3)


@pytest.mark.slow  # trains twice
def test_same_seed_same_numbers(tmp_path, repetitive_text):
    first = pretrain(tiny_options(tmp_path, repetitive_text, out=str(tmp_path / "a")), verbose=0)
    second = pretrain(tiny_options(tmp_path, repetitive_text, out=str(tmp_path / "b")), verbose=0)
    assert first["held_out_metrics"] == second["held_out_metrics"]
    history = json.loads((tmp_path / "a" / "history.json").read_text())
    assert history == json.loads((tmp_path / "b" / "history.json").read_text())


@pytest.mark.slow  # trains twice
def test_pretrain_then_fine_tune_from_the_command_line(tmp_path, capsys):
    """The path of the articles, as a user types it: pretrain on raw text, then `train --init` from the run."""
    from encoders_tf.cli import main
    from tests.conftest import write_sentiment_csv

    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=120)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(line.split(",")[0] + "\n" for line in data.read_text().splitlines()[1:]))
    pretrained = tmp_path / "pretrained"
    assert main(["pretrain", "--model", "transformer-tiny", "--text-file", str(corpus), "--max-length", "16",
                 "--vocabulary-size", "80", "--epochs", "1", "--batch-size", "16", "--out", str(pretrained)]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[out.index('{\n  "run_dir"'):])
    assert summary["perplexity"] > 1 and 0 <= summary["masked_accuracy"] <= 1
    assert json.loads((pretrained / "run.json").read_text())["task"] == "MaskedLanguageModel"
    tuned = tmp_path / "tuned"
    assert main(["train", "--init", str(pretrained), "--dataset", str(data), "--epochs", "1", "--batch-size", "16",
                 "--out", str(tuned)]) == 0
    run = json.loads((tuned / "run.json").read_text())
    assert run["optimizer"]["name"] == "adamw" and run["encoder_config"]["vocabulary_size"] == json.loads(
        (pretrained / "run.json").read_text())["encoder_config"]["vocabulary_size"]
    assert (tuned / "vocab.txt").read_text() == (pretrained / "vocab.txt").read_text()


def test_a_pretrained_run_exports_its_embeddings(tmp_path, capsys):
    from encoders_tf.cli import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"the film was {word} and the plot {verb}\n" for word in ("good", "bad", "dull")
                              for verb in ("moved", "sat", "ran", "fell")))
    run = tmp_path / "pretrained"
    assert main(["pretrain", "--model", "lstm", "--text-file", str(corpus), "--max-length", "16",
                 "--vocabulary-size", "60", "--batch-size", "4", "--held-out", "0.2", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["export", "--model", str(run), "--name", "pretrained", "--base", str(tmp_path / "models")]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["serving_check"] == "ok" and exported["max_abs_difference_vs_keras"] <= 1e-5
