"""Distillation: the loss against a hand computation, the teacher-logits cache, augmentation of training text
only, and a tiny `encoders-tf distill` run that ends in a servable export."""

import json

import keras
import numpy as np
import pytest

from encoders_tf.cli import main
from encoders_tf.data import Split
from encoders_tf.data.augment import MASK, Augmentation, augment, augment_split
from encoders_tf.errors import InputError
from encoders_tf.tasks import Distillation, TextClassifier
from encoders_tf.training import distill as distill_module
from encoders_tf.training.runs import load_run
from encoders_tf.training.teacher_logits import predict_logits, teacher_logits
from tests.conftest import write_sentiment_csv


def _student(num_classes):
    from encoders_tf import EncoderConfig, build_encoder
    from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary

    vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
    config = EncoderConfig.preset("lstm", vocabulary_size=len(vocabulary), max_length=16)
    return TextClassifier(WordPieceTokenizer(vocabulary, max_length=16), build_encoder(config), num_classes)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _hand_loss(labels, teacher, student, alpha, temperature, match):
    """The distillation loss computed in NumPy from its definition."""
    binary = student.shape[-1] == 1
    labelled = labels >= 0
    if binary:
        p = 1 / (1 + np.exp(-student[:, 0]))
        y = np.maximum(labels, 0)
        ce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    else:
        ce = -np.log(_softmax(student)[np.arange(len(labels)), np.maximum(labels, 0)])
    hard = (ce * labelled).sum() / len(labels)  # the mean over the batch, unlabelled texts counting 0
    if match == "mse":
        soft = ((teacher - student) ** 2).mean()
    else:
        if binary:
            teacher, student = (np.concatenate([np.zeros_like(z), z], -1) for z in (teacher, student))
        pt, ps = _softmax(teacher / temperature), _softmax(student / temperature)
        soft = (pt * np.log(pt / ps)).sum(-1).mean() * temperature ** 2
    return alpha * hard + (1 - alpha) * soft


@pytest.mark.parametrize("num_classes, match, alpha, temperature", [
    (2, "kl", 0.5, 2.0), (2, "kl", 0.0, 4.0), (2, "mse", 0.3, 1.0), (3, "kl", 0.5, 3.0), (3, "mse", 1.0, 1.0)])
def test_the_loss_is_the_hand_computed_mix(num_classes, match, alpha, temperature):
    rng = np.random.default_rng(0)
    width = 1 if num_classes == 2 else num_classes
    teacher = rng.normal(0, 2, (6, width)).astype(np.float32)
    student = rng.normal(0, 2, (6, width)).astype(np.float32)
    labels = np.array([0, 1, -1, 1, -1, num_classes - 1])  # two texts labelled by the teacher only (-1)
    model = Distillation(_student(num_classes), alpha=alpha, temperature=temperature, matching=match)
    loss = model.compute_loss(y={"label": labels, "teacher_logits": teacher}, y_pred=student)
    np.testing.assert_allclose(float(loss), _hand_loss(labels, teacher, student, alpha, temperature, match),
                               rtol=1e-5)
    # Plain labels (validation): the cross-entropy alone.
    plain = model.compute_loss(y=np.maximum(labels, 0), y_pred=student)
    np.testing.assert_allclose(float(plain), _hand_loss(np.maximum(labels, 0), teacher, student, 1.0, 1.0, "kl"),
                               rtol=1e-5)


def test_matching_a_teacher_exactly_costs_nothing_and_the_recipe_is_checked():
    model = Distillation(_student(2), alpha=0.0, temperature=2.0)
    logits = np.array([[1.5], [-3.0]], np.float32)
    assert float(model.compute_loss(y={"label": np.array([-1, -1]), "teacher_logits": logits}, y_pred=logits)) == \
        pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="alpha"):
        Distillation(_student(2), alpha=1.5)
    with pytest.raises(ValueError, match="temperature"):
        Distillation(_student(2), temperature=0)
    with pytest.raises(ValueError, match="mse"):
        Distillation(_student(2), temperature=3.0, matching="mse")


def test_augmentation_is_seeded_and_keeps_to_its_rates():
    texts = [" ".join(f"w{i}_{j}" for j in range(12)) for i in range(400)]
    masked, sources = augment(texts, Augmentation(factor=1, mask=0.2, swap=0, delete=0, ngram=0, seed=3))
    assert (masked, sources) == augment(texts, Augmentation(factor=1, mask=0.2, swap=0, delete=0, ngram=0, seed=3))
    words = [word for text in masked for word in text.split()]
    assert len(words) == 12 * len(masked)  # masking keeps every position
    # Copies equal to their text are dropped, so the masked share is counted over every text's words.
    assert 0.17 < words.count(MASK) / (12 * len(texts)) < 0.23
    for text, source in zip(masked, sources):  # a copy is its source with some words masked
        assert all(a in (b, MASK) for a, b in zip(text.split(), texts[source].split()))

    cut, sources = augment(texts, Augmentation(factor=1, mask=0, swap=0, delete=0, ngram=1.0, seed=0))
    assert all(1 <= len(text.split()) <= 5 and text in texts[source] for text, source in zip(cut, sources))
    deleted, _ = augment(["one"] * 3 + texts[:50], Augmentation(factor=2, mask=0, swap=0, delete=0.9, ngram=0))
    assert all(text.split() for text in deleted)  # a word always remains
    swapped, sources = augment(texts[:50], Augmentation(factor=1, mask=0, swap=0.3, delete=0, ngram=0))
    assert swapped and all(sorted(t.split()) == sorted(texts[s].split()) for t, s in zip(swapped, sources))


def test_augmented_copies_follow_their_source_and_pairs_change_on_both_sides():
    split = Split(["a good film indeed", "a bad film sadly"], [1, 0], pairs=["so good", "so bad"])
    augmented = augment_split(split, Augmentation(factor=4, mask=0.5, seed=1))
    assert augmented.texts[:2] == split.texts and augmented.pairs[:2] == split.pairs and len(augmented) > 2
    for text, pair, label in zip(augmented.texts[2:], augmented.pairs[2:], augmented.labels[2:]):
        source = 1 - label  # the source's label travels with the copy
        assert set(text.split()) <= set(split.texts[source].split()) | {MASK}
        assert set(pair.split()) <= set(split.pairs[source].split()) | {MASK}
    unlabelled = augment_split(split, Augmentation(factor=4, mask=0.5, seed=1), copies_labelled=False)
    assert (unlabelled.labels[2:] == -1).all()
    assert augment_split(split, Augmentation()) is split  # factor 0: nothing added


def test_pair_swap_adds_each_pair_reversed_with_its_label_and_needs_pairs():
    split = Split(["a man sings", "the cat sleeps", "same"], [1, 0, 1], pairs=["a man is singing", "dogs bark", "same"])
    swapped = augment_split(split, Augmentation(pair_swap=True))
    assert swapped.texts == split.texts + ("a man is singing", "dogs bark")  # (same, same) is not repeated
    assert swapped.pairs == split.pairs + ("a man sings", "the cat sleeps")
    assert swapped.labels.tolist() == [1, 0, 1, 1, 0]
    both = augment_split(split, Augmentation(factor=2, mask=0.5, pair_swap=True, seed=1), copies_labelled=False)
    assert both.texts[:5] == swapped.texts and len(both) > 5 and both.labels[3:].tolist() == [-1] * (len(both) - 3)
    with pytest.raises(InputError, match="needs pair data.*one text per example"):
        augment_split(Split(["one text"], [0]), Augmentation(pair_swap=True))


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A tiny trained classifier run and its data."""
    tmp = tmp_path_factory.mktemp("distill")
    data = write_sentiment_csv(tmp / "sentiment.csv", rows=200)
    keras.utils.set_random_seed(0)
    assert main(["train", "--model", "transformer-tiny", "--dataset", str(data), "--epochs", "3", "--batch-size", "16",
                 "--max-length", "16", "--vocabulary-size", "60", "--out", str(tmp / "teacher")]) == 0
    return tmp / "teacher", data


@pytest.fixture
def labelled_by_teacher(monkeypatch):
    """{"texts": the transfer set `distill` hands the teacher to label}, filled when it does."""
    seen = {}
    original = distill_module.teacher_logits

    def recording(teacher, texts, pairs=None, **kwargs):
        seen["texts"] = list(texts)
        return original(teacher, texts, pairs, **kwargs)

    monkeypatch.setattr(distill_module, "teacher_logits", recording)
    return seen


@pytest.mark.slow  # trains the teacher
def test_teacher_logits_are_the_teachers_and_a_changed_teacher_is_never_read_from_the_cache(teacher, tmp_path):
    teacher_dir, _ = teacher
    texts = ["the film was great", "boring and dull plot", "okay", ""]
    model, _ = load_run(teacher_dir, TextClassifier)
    logits, facts = teacher_logits(teacher_dir, texts, cache_dir=tmp_path, verbose=False)
    assert logits.shape == (4, 1) and not facts["cached"]
    # The logits are the teacher's: its probabilities are their sigmoid.
    np.testing.assert_allclose(1 / (1 + np.exp(-logits[:, 0])), model.probabilities(texts).numpy()[:, 1], atol=1e-6)
    again, facts = teacher_logits(teacher_dir, texts, cache_dir=tmp_path, verbose=False)
    assert facts["cached"] and np.array_equal(again, logits)
    other, facts = teacher_logits(teacher_dir, texts[:3], cache_dir=tmp_path, verbose=False)
    assert not facts["cached"]  # other texts: another key
    np.testing.assert_allclose(other, logits[:3], atol=1e-6)  # batched otherwise, so padded otherwise

    changed = tmp_path / "changed"
    changed.mkdir()
    for name in ("run.json", "vocab.txt"):
        (changed / name).write_bytes((teacher_dir / name).read_bytes())
    model.head.kernel.assign(model.head.kernel * -1.0)  # a retrained teacher, in effect
    model.save(changed / "model.keras")
    flipped, facts = teacher_logits(changed, texts, cache_dir=tmp_path, verbose=False)
    assert not facts["cached"]
    np.testing.assert_allclose(flipped, predict_logits(model, texts), atol=1e-6)
    assert not np.allclose(flipped, logits)
    # A file at the key's path that holds another teacher's logits is not used.
    path = tmp_path / f"teacher-logits-{facts['key']}.npz"
    np.savez(path, logits=logits, teacher="0" * 64, texts="0" * 64)
    redone, facts = teacher_logits(changed, texts, cache_dir=tmp_path, verbose=False)
    assert not facts["cached"] and np.allclose(redone, flipped, atol=1e-6)


@pytest.mark.slow  # trains the teacher, then the student
def test_distill_on_the_whole_training_split(teacher, tmp_path, capsys):
    teacher_dir, data = teacher
    out = tmp_path / "student"
    assert main(["distill", "--teacher", str(teacher_dir), "--student", "bilstm", "--dataset", str(data),
                 "--epochs", "1", "--batch-size", "16", "--max-length", "16", "--vocabulary-size", "60",
                 "--validation-fraction", "0", "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]) == 0
    capsys.readouterr()
    run = json.loads((out / "run.json").read_text())
    assert run["split_sizes"]["validation"] == 0
    assert run["distillation"]["transfer_size"] == run["split_sizes"]["train"] == 200 - run["split_sizes"]["test"]
    assert not any(key.startswith("val_") for key in json.loads((out / "history.json").read_text()))


@pytest.mark.slow  # trains the teacher, then the student
def test_distill_end_to_end_augments_only_training_text_and_exports_a_servable_classifier(
        teacher, tmp_path, capsys, labelled_by_teacher):
    teacher_dir, data = teacher
    seen = labelled_by_teacher
    out = tmp_path / "student"
    capsys.readouterr()
    assert main(["distill", "--teacher", str(teacher_dir), "--student", "bilstm", "--dataset", str(data),
                 "--epochs", "1", "--batch-size", "16", "--max-length", "16", "--vocabulary-size", "60",
                 "--augment-factor", "3", "--augment-mask", "0.3", "--cache-dir", str(tmp_path / "cache"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.rindex("\n{\n") + 1:])["run_dir"] == str(out)
    run = json.loads((out / "run.json").read_text())
    assert run["task"] == "TextClassifier" and run["distillation"]["teacher"] == str(teacher_dir)
    assert run["distillation"]["augmented"] > 0 and run["distillation"]["match"] == "kl"

    from encoders_tf.data import load_dataset

    splits = load_dataset(str(data), seed=0)
    train, held_out = set(splits.train.texts), set(splits.validation.texts) | set(splits.test.texts)
    transfer = seen["texts"]
    assert transfer[:len(splits.train)] == list(splits.train.texts)
    assert len(transfer) == run["distillation"]["transfer_size"] == len(splits.train) + run["distillation"]["augmented"]
    train_words = {word for text in train for word in text.split()}
    for text in transfer[len(splits.train):]:  # every copy is made of training text, and none is held out
        assert set(text.split()) <= train_words | {MASK}
        assert text not in held_out or text in train
    assert run["split_sizes"]["test"] == len(splits.test) == run["test_metrics"]["examples"]

    # An ordinary classifier run: evaluate and export take it; the export passes check-serving.
    assert main(["evaluate", "--model", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["examples"] == 200  # a file is evaluated whole
    base = tmp_path / "saved_models"
    assert main(["export", "--model", str(out), "--name", "student", "--base", str(base)]) == 0
    assert json.loads(capsys.readouterr().out)["max_abs_difference_vs_keras"] <= 1e-5
    assert main(["check-serving", str(base / "student")]) == 0

    # What it costs to serve, through the SavedModel: the figures the cost table reports.
    from encoders_tf.compare.serving_cost import serving_cost

    cost = serving_cost({"student": base / "student" / "1"}, splits.test.texts, batch_sizes=(1, 8), rounds=2, calls=3)
    assert sorted(cost["student"]) == [1, 8]
    for size, figures in cost["student"].items():
        assert figures["calls"] == 6 and figures["p99_ms"] >= figures["p50_ms"] > 0
        assert figures["ms_per_example"] == pytest.approx(figures["p50_ms"] / size)
        assert figures["examples_per_s"] == pytest.approx(1000 / figures["ms_per_example"])


@pytest.mark.slow  # trains the teacher
def test_a_teacher_of_other_classes_is_refused_before_training(teacher, tmp_path, capsys):
    teacher_dir, _ = teacher
    three = write_sentiment_csv(tmp_path / "three.csv", rows=60, classes=3)
    assert main(["distill", "--teacher", str(teacher_dir), "--dataset", str(three), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert "['0', '1']" in err and "['0', '1', '2']" in err and "\n" not in err
    assert not (tmp_path / "s").exists()


@pytest.mark.slow  # trains
def test_train_with_augmentation_keeps_labels_and_counts_the_copies(tmp_path, capsys):
    data = write_sentiment_csv(tmp_path / "sentiment.csv", rows=80)
    assert main(["train", "--dataset", str(data), "--epochs", "1", "--batch-size", "16", "--max-length", "16",
                 "--vocabulary-size", "60", "--augment-factor", "2", "--out", str(tmp_path / "run")]) == 0
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert 0 < run["augmented"] <= 2 * run["split_sizes"]["train"] and run["options"]["augment_factor"] == 2
    assert run["test_metrics"]["examples"] == run["split_sizes"]["test"]


@pytest.mark.slow  # trains the teacher, then the student
def test_a_student_starts_from_the_teachers_token_embeddings(teacher, tmp_path, capsys):
    teacher_dir, data = teacher
    out = tmp_path / "student"
    assert main(["distill", "--teacher", str(teacher_dir), "--student", "bilstm", "--dataset", str(data),
                 "--student-vocabulary", "teacher", "--student-embeddings", "teacher", "--epochs", "1",
                 "--batch-size", "16", "--max-length", "16", "--learning-rate", "1e-9", "--group-by-length",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]) == 0
    teacher_model, _ = load_run(teacher_dir)
    student, run = load_run(out)
    expected = keras.ops.convert_to_numpy(teacher_model.encoder.token_embedding.embeddings)
    learned = keras.ops.convert_to_numpy(student.encoder.token_embedding.embeddings)
    assert learned.shape == expected.shape == (teacher_model.tokenizer.vocabulary_size, 64)  # the teacher's width
    np.testing.assert_allclose(learned, expected, atol=1e-6)  # a learning rate of 1e-9 leaves them where they began
    assert run["encoder_config"]["embedding_size"] == 64 and run["distillation"]["student_embeddings"] == "teacher"

    # Without the teacher's vocabulary its embedding rows mean nothing: refused before anything is read.
    assert main(["distill", "--teacher", str(teacher_dir), "--dataset", str(data), "--student-embeddings", "teacher",
                 "--out", str(tmp_path / "refused")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--student-vocabulary teacher" in err and "\n" not in err and not (tmp_path / "refused").exists()


def test_sentences_are_cut_at_their_ends_and_at_line_breaks():
    from encoders_tf.data.sentences import split_sentences

    assert split_sentences("A fine film. I laughed!<br /><br />\"Go,\" he said. 10 out of 10?") == [
        "A fine film.", "I laughed!", "\"Go,\" he said.", "10 out of 10?"]
    assert split_sentences('He said "Great." Then he left...\nAnd wept.<BR>') == [
        'He said "Great."', "Then he left...", "And wept."]
    # No capital after the stop (SST-2's lower-cased phrases): one text, as written.
    assert split_sentences("it 's a charming film . really") == ["it 's a charming film . really"]
    assert split_sentences("  <br />\n ") == []


def test_transfer_texts_leave_out_evaluation_text_and_refuse_an_evaluation_split(tmp_path):
    from encoders_tf.data import DataError
    from encoders_tf.data.transfer import load_transfer_texts

    reviews = tmp_path / "reviews.txt"
    reviews.write_text("A lovely film. It 's dull!\n\nGreat acting.<br />Weak plot.\nThe end.\n")
    transfer = load_transfer_texts(str(reviews), sentences=True, exclude=["it's DULL", "never seen"])
    assert transfer.texts == ("A lovely film.", "Great acting.", "Weak plot.", "The end.")
    assert transfer.dropped == 1 and transfer.source == f"{reviews}, sentences"
    assert load_transfer_texts(str(reviews), sentences=True, max_texts=2).texts == ("A lovely film.", "It 's dull!")
    whole = load_transfer_texts(str(reviews))  # a document a line
    assert whole.texts[0] == "A lovely film. It 's dull!" and len(whole) == 3
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("One review.\nStill the same one.")
    assert load_transfer_texts(str(folder)).texts == ("One review.\nStill the same one.",)

    with pytest.raises(DataError, match=r"sst2's validation split, which the student is evaluated on"):
        load_transfer_texts("sst2:train,validation", dataset="sst2")
    with pytest.raises(DataError, match=r"none left \(1 equal an evaluation text\)"):
        load_transfer_texts(str(folder), exclude=["one review still the same one"])
    with pytest.raises(DataError, match="not found"):
        load_transfer_texts(str(tmp_path / "missing.txt"))


def test_unlabelled_transfer_texts_need_single_texts_and_their_flags_need_a_source(tmp_path, capsys):
    from types import SimpleNamespace

    options = distill_module.DistillOptions(teacher="t", transfer_texts="reviews.txt", dataset="mrpc")
    with pytest.raises(InputError, match="mrpc holds pairs of texts"):
        distill_module._unlabelled_transfer(options, SimpleNamespace(has_pairs=True))
    for flags in (["--transfer-sentences"], ["--transfer-max-texts", "10"]):
        assert main(["distill", "--teacher", str(tmp_path), "--dataset", "sst2", *flags]) == 2
        err = capsys.readouterr().err.strip()
        assert "--transfer-texts, which was not given" in err and "\n" not in err


@pytest.mark.slow  # trains the teacher, then the student
def test_unlabelled_transfer_texts_join_the_transfer_set_labelled_by_the_teacher(teacher, tmp_path, capsys,
                                                                                  labelled_by_teacher):
    teacher_dir, data = teacher
    seen = labelled_by_teacher
    from encoders_tf.data import load_dataset

    held_out = load_dataset(str(data), seed=0).test.texts[0]
    reviews = tmp_path / "reviews.txt"
    reviews.write_text(f"The film was great. Boring plot!<br />{held_out.upper()}.\nA superb story. Dull acting.\n")
    out = tmp_path / "student"
    assert main(["distill", "--teacher", str(teacher_dir), "--student", "bilstm", "--dataset", str(data),
                 "--epochs", "1", "--batch-size", "16", "--max-length", "16", "--vocabulary-size", "60",
                 "--transfer-texts", str(reviews), "--transfer-sentences", "--transfer-max-texts", "3",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]) == 0
    capsys.readouterr()
    run = json.loads((out / "run.json").read_text())
    added = ["The film was great.", "Boring plot!", "A superb story."]  # the held-out text left out
    assert seen["texts"][-3:] == added and len(seen["texts"]) == run["split_sizes"]["train"] + 3
    assert run["distillation"]["unlabelled"] == {"source": f"{reviews}, sentences", "texts": 3,
                                                 "dropped_as_evaluation_texts": 1}
    assert run["distillation"]["augmented"] == 0 and run["distillation"]["transfer_size"] == len(seen["texts"])
