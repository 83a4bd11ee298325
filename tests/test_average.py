"""`train --order-seed` and `encoders-tf average`: a model soup of runs fine-tuned from one start."""

import json
import shutil

import numpy as np
import pytest

from encoders_tf.cli import main
from encoders_tf.training.driver import RunOptions
from tests.conftest import write_sentiment_csv
from tests.test_cli import _converted_tiny_run, _error_line
from tests.test_tagging import write_tag_file


def test_order_seed_changes_the_batch_order_only():
    assert [RunOptions(seed=5).epoch_seed(epoch) for epoch in range(3)] == [5, 6, 7]  # as before the flag
    orders = {order_seed: [RunOptions(seed=5, order_seed=order_seed).epoch_seed(epoch) for epoch in range(3)]
              for order_seed in range(3)}
    assert orders[1] == [RunOptions(seed=0, order_seed=1).epoch_seed(epoch) for epoch in range(3)]  # not --seed's
    every_epoch = [seed for seeds in orders.values() for seed in seeds]
    assert len(set(every_epoch)) == len(every_epoch)  # no two members, no two epochs share an order


@pytest.mark.slow  # trains
def test_runs_differing_in_order_seed_start_from_the_same_weights(tmp_path):
    from encoders_tf.training.runs import load_run

    _converted_tiny_run(tmp_path / "pretrained", num_layers=2)
    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=32)
    # At 1e-12 a step moves a weight by about 1e-12 (AdamW's steps are about the rate): each run ends where it
    # started, to within 1e-9.
    train = ["train", "--init", str(tmp_path / "pretrained"), "--reinit-layers", "1", "--dataset", str(data),
             "--epochs", "1", "--batch-size", "16", "--learning-rate", "1e-12"]
    for name, flags in (("order-1", ["--order-seed", "1"]), ("order-2", ["--order-seed", "2"]),
                        ("seed-1", ["--seed", "1", "--order-seed", "1"])):
        assert main([*train, *flags, "--out", str(tmp_path / name)]) == 0
    starts = {name: load_run(tmp_path / name)[0] for name in ("order-1", "order-2", "seed-1")}
    for one, two in zip(starts["order-1"].weights, starts["order-2"].weights, strict=True):
        np.testing.assert_allclose(one.numpy(), two.numpy(), rtol=0, atol=1e-9, err_msg=one.path)  # the same start
    pairs = zip(starts["order-1"].weights, starts["seed-1"].weights, strict=True)
    new_weights = [weight.path for weight, other in pairs
                   if not np.allclose(weight.numpy(), other.numpy(), rtol=0, atol=1e-6)]
    assert new_weights and all("block_1" in path or "head" in path for path in new_weights)  # --seed draws them


@pytest.mark.slow  # trains
def test_average_is_the_mean_of_the_members_weights_and_is_evaluated(tmp_path, capsys):
    from encoders_tf.data import load_dataset
    from encoders_tf.training.classifier import evaluate_split
    from encoders_tf.training.runs import load_run

    _converted_tiny_run(tmp_path / "pretrained", num_layers=2)
    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=48)
    train = ["train", "--init", str(tmp_path / "pretrained"), "--reinit-layers", "1", "--dataset", str(data),
             "--epochs", "2", "--batch-size", "8", "--learning-rate", "1e-3"]
    members = [tmp_path / f"member-{order_seed}" for order_seed in range(3)]
    for order_seed, member in enumerate(members):
        assert main([*train, "--order-seed", str(order_seed), "--out", str(member)]) == 0
    capsys.readouterr()
    runs = [json.loads((member / "run.json").read_text()) for member in members]
    assert [run["options"]["order_seed"] for run in runs] == [0, 1, 2]

    assert main(["average", *map(str, members), "--out", str(tmp_path / "soup")]) == 0
    printed = json.loads(capsys.readouterr().out.split("\n", 1)[1])  # after the line naming the members
    soup, run = load_run(tmp_path / "soup")
    models = [load_run(member)[0] for member in members]
    differ = 0
    for averaged, *weights in zip(soup.weights, *(model.weights for model in models), strict=True):
        values = [weight.numpy() for weight in weights]
        np.testing.assert_allclose(averaged.numpy(), np.mean(values, axis=0), rtol=1e-6, atol=1e-7,
                                   err_msg=averaged.path)
        differ += not np.array_equal(values[0], values[1])
    assert differ == len(soup.weights)  # other batch orders: every weight trained differently
    assert run["averaged_runs"] == [str(member.resolve()) for member in members]
    assert run["train_seconds"] == round(sum(member_run["train_seconds"] for member_run in runs), 2)
    assert run["task"] == "TextClassifier" and run["options"]["out"] == str(tmp_path / "soup")
    test = load_dataset(str(data), seed=0, validation_fraction=0.1).test  # the members' test split
    evaluated, _ = evaluate_split(soup, test)  # the soup's figures are its own
    assert run["test_metrics"] == evaluated and printed == {"run_dir": str(tmp_path / "soup"), **evaluated}
    assert evaluated["examples"] == runs[0]["test_metrics"]["examples"] == len(test)
    assert json.loads((tmp_path / "soup" / "metrics.json").read_text()) == run["test_metrics"]

    out = ["--out", str(tmp_path / "x")]
    assert "--order-seed: must be an integer >= 0, got '-1'" in _error_line(capsys, [*train, "--order-seed", "-1"])
    assert "averaging needs two or more runs, got 1" in _error_line(capsys, ["average", str(members[0]), *out])
    other_seed = tmp_path / "other-seed"
    shutil.copytree(members[1], other_seed)
    other = json.loads((other_seed / "run.json").read_text())
    other["options"]["seed"] = 1
    (other_seed / "run.json").write_text(json.dumps(other))
    assert (f"{other_seed} was trained with --seed 1, {members[0]} with --seed 0; a soup's members start from the same "
            f"weights" in _error_line(capsys, ["average", str(members[0]), str(other_seed), *out]))
    assert (f"{tmp_path / 'pretrained'} holds a TextEncoder run; accepted: runs of `encoders-tf train`"
            in _error_line(capsys, ["average", str(tmp_path / "pretrained"), str(members[0]), *out]))
    assert (f"{data} does not exist or is not a directory; expected a run directory"
            in _error_line(capsys, ["average", str(members[0]), str(data), *out]))
    assert not (tmp_path / "x").exists()


@pytest.mark.slow  # trains
def test_average_of_taggers_is_an_evaluated_tagger(tmp_path, capsys):
    from encoders_tf.data.tagging import load_tagged_dataset
    from encoders_tf.training.runs import load_run
    from encoders_tf.training.tagging import evaluate_tagger

    data = write_tag_file(tmp_path / "tags.txt", sentences=60)
    members = [tmp_path / f"member-{order_seed}" for order_seed in (1, 2)]
    for order_seed, member in zip((1, 2), members):  # from scratch: the same --seed, the same vocabulary and weights
        assert main(["train", "--task", "tokens", "--model", "bilstm", "--dataset", str(data), "--epochs", "1",
                     "--batch-size", "16", "--max-length", "24", "--vocabulary-size", "80",
                     "--order-seed", str(order_seed), "--out", str(member)]) == 0
    assert main(["average", *map(str, members), "--out", str(tmp_path / "soup")]) == 0
    soup, run = load_run(tmp_path / "soup")
    assert run["task"] == "TokenClassifier" and run["tag_names"] == load_run(members[0])[1]["tag_names"]
    evaluated, _ = evaluate_tagger(soup, load_tagged_dataset(str(data)).test)
    assert run["test_metrics"] == evaluated and {"precision", "recall", "f1", "accuracy"} <= set(evaluated)
