"""`encoders-tf` end to end on small data, and its answers to bad usage and bad input."""

import json
import pathlib
import subprocess
import sys

import pytest

from encoders_tf.cli import main
from tests.conftest import write_sentiment_csv


def _error_line(capsys, argv):
    """Runs the CLI, expects exit code 2, returns its single stderr line."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_unknown_model_names_the_value_and_the_choices(capsys):
    err = _error_line(capsys, ["train", "--model", "gru"])
    assert "'gru'" in err and "lstm" in err and "transformer" in err


def test_unknown_dataset_names_the_value_and_the_choices(capsys):
    err = _error_line(capsys, ["train", "--dataset", "reddit"])
    assert "reddit" in err and all(name in err for name in ("tweets", "sst2", "imdb"))


@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_non_positive_epochs(capsys, value):
    err = _error_line(capsys, ["train", "--epochs", value])
    assert "--epochs" in err and repr(value) in err and "positive integer" in err


def test_missing_label_column(capsys, sentiment_csv):
    err = _error_line(capsys, ["train", "--dataset", str(sentiment_csv), "--label-column", "stars"])
    assert "stars" in err and "sentiment.csv" in err and "label" in err  # the columns that are there


def test_label_that_is_not_an_integer_class(capsys, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\ngood film,1\nbad film,negative\n")
    err = _error_line(capsys, ["train", "--dataset", str(path)])
    assert "negative" in err and "bad.csv" in err and "3" in err  # the value, the file, the line


def test_malformed_row_names_file_and_line(capsys, tmp_path):
    path = tmp_path / "ragged.tsv"
    path.write_text("text\tlabel\ngood film\t1\nno label here\nbad film\t0\n")
    err = _error_line(capsys, ["train", "--dataset", str(path)])
    assert "ragged.tsv" in err and "3" in err


def test_evaluate_needs_a_run_directory(capsys, tmp_path):
    err = _error_line(capsys, ["evaluate", "--model", str(tmp_path)])
    assert "model.keras" in err


def test_console_script_exits_2_without_a_traceback():
    script = pathlib.Path(sys.executable).with_name("encoders-tf")
    result = subprocess.run([str(script), "train", "--model", "gru"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "'gru'" in result.stderr


@pytest.mark.slow  # trains and exports
def test_train_evaluate_export_on_a_small_file(tmp_path, capsys):
    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=200)
    run_dir = tmp_path / "run"
    assert main(["train", "--model", "lstm", "--dataset", str(data), "--epochs", "3", "--batch-size", "16",
                 "--max-length", "16", "--vocabulary-size", "100", "--out", str(run_dir)]) == 0
    assert f'"run_dir": "{run_dir}"' in capsys.readouterr().out
    for name in ("model.keras", "vocab.txt", "metrics.json", "history.json", "run.json"):
        assert (run_dir / name).is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.9  # the class words make this easy; a broken pipeline stays near 0.5
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]

    assert main(["evaluate", "--model", str(run_dir), "--dataset", str(data)]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["split"] == "file" and evaluated["examples"] == 200
    assert set(evaluated) >= {"accuracy", "macro_f1", "loss"}

    base = tmp_path / "saved_models"
    assert main(["export", "--model", str(run_dir), "--name", "reviews", "--base", str(base)]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["path"] == str(base / "reviews" / "1")
    assert exported["max_abs_difference_vs_keras"] <= 1e-5


@pytest.mark.slow  # trains, evaluates
def test_validation_fraction_zero_trains_on_the_whole_training_split(tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = ["train", "--model", "lstm", "--dataset", "tweets", "--max-examples", "300", "--epochs", "1",
            "--batch-size", "32", "--max-length", "16", "--vocabulary-size", "200", "--out", str(run_dir)]
    assert main([*argv, "--validation-fraction", "0"]) == 0
    capsys.readouterr()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["options"]["validation_fraction"] == 0 and run["split_sizes"]["validation"] == 0
    history = json.loads((run_dir / "history.json").read_text())
    assert set(history) == {"loss", "accuracy"}  # no val_* logs: nothing was held out
    # evaluate carves the test split as the run did: tweets' test is carved beside validation, so it differs.
    from encoders_tf.data import load_dataset
    from encoders_tf.training.classifier import evaluate_split
    from encoders_tf.training.runs import load_run

    test = load_dataset("tweets", validation_fraction=0).test
    assert set(test.texts) != set(load_dataset("tweets").test.texts)
    assert main(["evaluate", "--model", str(run_dir)]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    expected, _ = evaluate_split(load_run(run_dir)[0], test, 64)
    assert evaluated["examples"] == len(test) and evaluated["accuracy"] == pytest.approx(expected["accuracy"])
    assert main(["evaluate", "--model", str(run_dir), "--split", "validation"]) == 2
    assert "no validation split" in capsys.readouterr().err


def test_pooling_flag_sets_the_new_encoders_pooling(tmp_path, capsys):
    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=64)
    run_dir = tmp_path / "run"
    assert main(["train", "--model", "bilstm", "--pooling", "max", "--dataset", str(data), "--epochs", "1",
                 "--batch-size", "16", "--max-length", "16", "--vocabulary-size", "100", "--out", str(run_dir)]) == 0
    run = json.loads((run_dir / "run.json").read_text())
    assert run["encoder_config"]["pooling"] == "max" and run["options"]["pooling"] == "max"
    from encoders_tf.training.runs import load_run

    model, _ = load_run(run_dir)
    assert model.encoder.pooler.mode == "max"


def _converted_tiny_run(run_dir, **overrides):
    """A converted-checkpoint run directory of a transformer-tiny encoder (its config `overrides` changed);
    returns its loaded model."""
    import encoders_tf
    from encoders_tf.checkpoints.converted import save_converted
    from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
    from encoders_tf.training.runs import load_run

    vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
    config = encoders_tf.EncoderConfig.preset("transformer-tiny", vocabulary_size=len(vocabulary), max_length=16,
                                              **overrides)
    save_converted(WordPieceTokenizer(vocabulary, max_length=16), encoders_tf.build_encoder(config), config, run_dir)
    return load_run(run_dir)[0]


def test_pooling_flag_pools_an_init_runs_encoder_anew_with_its_weights(tmp_path, capsys):
    import numpy as np

    from encoders_tf.training.driver import RunOptions, tokenizer_and_encoder

    pretrained = _converted_tiny_run(tmp_path / "pretrained")
    _, encoder, repooled = tokenizer_and_encoder(RunOptions(init=str(tmp_path / "pretrained"), pooling="mean"), None)
    assert repooled.pooling == "mean" and encoder.pooler.mode == "mean"
    assert [weight.path for weight in encoder.weights] == [weight.path for weight in pretrained.encoder.weights]
    for ours, theirs in zip(encoder.weights, pretrained.encoder.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())

    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=32)
    assert main(["train", "--init", str(tmp_path / "pretrained"), "--pooling", "mean", "--dataset", str(data),
                 "--epochs", "1", "--batch-size", "16", "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "run.json").read_text())["encoder_config"]["pooling"] == "mean"


def test_dropout_flags_set_a_new_and_an_init_runs_encoder_and_head(tmp_path, capsys):
    import numpy as np

    from encoders_tf.training.driver import RunOptions, tokenizer_and_encoder
    from encoders_tf.training.runs import load_run

    assert "must be a rate in [0, 1), got '1'" in _error_line(capsys, ["train", "--dropout", "1"])
    assert "must be a rate in [0, 1), got '-0.1'" in _error_line(capsys, ["distill", "--head-dropout", "-0.1"])

    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=32)
    assert main(["train", "--model", "bilstm", "--dropout", "0.3", "--head-dropout", "0.2", "--dataset", str(data),
                 "--epochs", "1", "--batch-size", "16", "--out", str(tmp_path / "run")]) == 0
    model, run = load_run(tmp_path / "run")
    assert run["encoder_config"]["dropout"] == 0.3 and model.encoder._dropout.rate == 0.3
    assert run["options"]["head_dropout"] == 0.2 and model.head_dropout.rate == 0.2

    assert _error_line(capsys, ["train", "--model", "bilstm", "--attention-dropout", "0", "--dataset", str(data),
                                "--epochs", "1", "--out", str(tmp_path / "lstm")]) == (
        "encoders-tf: error: --attention-dropout applies to Transformer encoders; this encoder is an LSTM (its "
        "dropout is --dropout)")

    pretrained = _converted_tiny_run(tmp_path / "pretrained")  # its preset's dropouts: 0.1
    _, encoder, config = tokenizer_and_encoder(RunOptions(init=str(tmp_path / "pretrained"), dropout=0.0), None)
    assert config.dropout == 0.0 and encoder.dropout == 0.0 and config.attention_dropout == 0.1
    _, encoder, config = tokenizer_and_encoder(
        RunOptions(init=str(tmp_path / "pretrained"), attention_dropout=0.0), None)
    assert config.attention_dropout == 0.0 and config.dropout == 0.1
    assert {block.attention._dropout.rate for block in encoder.blocks} == {0.0}
    for ours, theirs in zip(encoder.weights, pretrained.encoder.weights, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_reinit_layers_starts_an_init_runs_top_blocks_anew(tmp_path, capsys):
    import numpy as np

    import encoders_tf
    from encoders_tf.training.driver import RunOptions, tokenizer_and_encoder

    pretrained = _converted_tiny_run(tmp_path / "pretrained", num_layers=2)
    _, encoder, config = tokenizer_and_encoder(RunOptions(init=str(tmp_path / "pretrained"), reinit_layers=1), None)
    fresh = encoders_tf.build_encoder(config)  # the weights a new encoder of this config starts with
    fresh.build({"token_ids": (None, None), "padding_mask": (None, None)})
    kernels = 0
    for ours, theirs, new in zip(encoder.weights, pretrained.encoder.weights, fresh.weights, strict=True):
        if "/block_1/" in ours.path and "kernel" in ours.path:  # drawn anew, from the initializer a new one has
            assert not np.array_equal(ours.numpy(), theirs.numpy()), ours.path
            assert np.std(ours.numpy()) == pytest.approx(np.std(new.numpy()), rel=0.1), ours.path
            kernels += 1
        elif "/block_1/" not in ours.path:  # the lower block and the embeddings: the run's own
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=ours.path)
    assert kernels == 6  # query, key, value, output, intermediate, projection

    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=32)
    train = ["train", "--dataset", str(data), "--epochs", "1", "--batch-size", "16", "--out", str(tmp_path / "run")]
    assert main([*train, "--init", str(tmp_path / "pretrained"), "--reinit-layers", "2"]) == 0
    assert json.loads((tmp_path / "run" / "run.json").read_text())["options"]["reinit_layers"] == 2
    assert ("--reinit-layers 3: the --init run's encoder has 2 blocks; accepted: 1 to 2"
            in _error_line(capsys, [*train, "--init", str(tmp_path / "pretrained"), "--reinit-layers", "3"]))
    assert ("--reinit-layers starts the top blocks of a pretrained encoder anew, and there is none without --init"
            in _error_line(capsys, [*train, "--reinit-layers", "1"]))
    lstm = ["--out", str(tmp_path / "lstm")]
    assert main([*train, "--model", "lstm", "--max-length", "16", "--vocabulary-size", "100", *lstm]) == 0
    assert ("--reinit-layers 1: the --init run's encoder has no separate blocks to start anew (it is an lstm); "
            "accepted: a Transformer encoder without shared layers"
            in _error_line(capsys, [*train, "--init", str(tmp_path / "lstm"), "--reinit-layers", "1"]))
    assert "must be a positive integer, got '0'" in _error_line(capsys, [*train, "--reinit-layers", "0"])


def test_a_longer_max_length_gives_an_init_runs_transformer_more_positions(tmp_path, capsys):
    import numpy as np

    from encoders_tf.training.driver import RunOptions, tokenizer_and_encoder
    from encoders_tf.training.runs import load_run

    pretrained = _converted_tiny_run(tmp_path / "pretrained")  # 16 learned positions
    tokenizer, encoder, config = tokenizer_and_encoder(RunOptions(init=str(tmp_path / "pretrained"), max_length=40),
                                                       None)
    assert tokenizer.max_length == 40 and config.max_length == 40
    old, new = pretrained.encoder.embedding.position.embeddings.numpy(), encoder.embedding.position.embeddings.numpy()
    assert new.shape == (40, old.shape[1])
    np.testing.assert_array_equal(new, np.concatenate([old, old, old[:8]]))
    others = [(ours, theirs) for ours, theirs in zip(encoder.weights, pretrained.encoder.weights, strict=True)
              if "position" not in ours.path]
    for ours, theirs in others:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    inputs = pretrained.tokenizer(["a lovely film"])  # within the old positions, the same outputs
    np.testing.assert_allclose(encoder(inputs)["sequence_output"], pretrained.encoder(inputs)["sequence_output"],
                               atol=1e-6)
    # shorter: the tokenizer cuts sooner, the encoder keeps its positions; unset: the run's own length
    tokenizer, _, config = tokenizer_and_encoder(RunOptions(init=str(tmp_path / "pretrained"), max_length=8), None)
    assert tokenizer.max_length == 8 and config.max_length == 16
    tokenizer, _, config = tokenizer_and_encoder(RunOptions(init=str(tmp_path / "pretrained")), None)
    assert tokenizer.max_length == 16 and config.max_length == 16

    # pretrain short, then long: `pretrain --init RUN --max-length` longer, then `train --init` at that length
    text = tmp_path / "text.txt"
    text.write_text("\n".join(["a lovely film and a dull film " * 6] * 24) + "\n")
    assert main(["pretrain", "--init", str(tmp_path / "pretrained"), "--text-file", str(text), "--max-length", "40",
                 "--batch-size", "8", "--out", str(tmp_path / "long")]) == 0
    model, run = load_run(tmp_path / "long")
    assert run["encoder_config"]["max_length"] == 40 and model.tokenizer.max_length == 40
    assert model.encoder.embedding.position.embeddings.shape == (40, old.shape[1])
    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=32)
    assert main(["train", "--init", str(tmp_path / "long"), "--dataset", str(data), "--epochs", "1",
                 "--batch-size", "16", "--out", str(tmp_path / "run")]) == 0
    model, run = load_run(tmp_path / "run")
    assert run["encoder_config"]["max_length"] == 40 and model.tokenizer.max_length == 40


def test_an_init_run_fine_tunes_in_mixed_bfloat16_with_its_weights(tmp_path, capsys):
    import numpy as np

    from encoders_tf.training.driver import RunOptions, dtype_policy, tokenizer_and_encoder
    from encoders_tf.training.runs import load_run

    pretrained = _converted_tiny_run(tmp_path / "pretrained")
    with dtype_policy("mixed_bfloat16"):  # a saved float32 encoder, loaded as it was, mixed float32 and bfloat16
        _, encoder, _ = tokenizer_and_encoder(RunOptions(init=str(tmp_path / "pretrained")), None)
    assert {layer.dtype_policy.name for layer in encoder._flatten_layers()} == {"mixed_bfloat16"}
    for ours, theirs in zip(encoder.weights, pretrained.encoder.weights, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())

    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=32)
    assert main(["train", "--init", str(tmp_path / "pretrained"), "--precision", "mixed_bfloat16", "--dataset",
                 str(data), "--epochs", "1", "--batch-size", "16", "--out", str(tmp_path / "run")]) == 0
    model, _ = load_run(tmp_path / "run")  # loads whole in bfloat16 (its Dropouts too), the head in float32
    assert {layer.dtype_policy.name for layer in model.encoder._flatten_layers()} == {"mixed_bfloat16"}
    assert model.probabilities(["a lovely film"]).dtype == "float32"


def test_ema_is_checked_read_by_validation_and_kept(tmp_path, capsys):
    import keras
    import numpy as np
    import tensorflow as tf

    from encoders_tf.training.driver import RunOptions, resumable_fit
    from encoders_tf.training.optimizers import fine_tuning_optimizer

    assert "a number in (0, 1)" in _error_line(capsys, ["train", "--ema", "1"])
    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=32)
    line = _error_line(capsys, ["train", "--dataset", str(data), "--ema", "0.9", "--early-stopping", "1"])
    assert "--ema with --early-stopping" in line and "accepted: --ema with a fixed number of --epochs" in line

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    optimizer = fine_tuning_optimizer(0.1, total_steps=8, warmup=0.0, ema=0.5)
    model.compile(optimizer, "mse")
    x, y = np.random.default_rng(0).normal(size=(16, 3)).astype("float32"), np.ones(16, "float32")
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.average = [variable.numpy() for variable in optimizer._model_variables_moving_average]
            self.raw = [variable.numpy() for variable in model.trainable_variables]

        def on_test_begin(self, logs=None):  # after SwapEMAWeights'
            self.validated = [variable.numpy() for variable in model.trainable_variables]

    probe = Probe()
    resumable_fit(model, batches, RunOptions(epochs=2, backup_every=None), tf.distribute.get_strategy(), tmp_path,
                  0, validation_data=batches, callbacks=[probe])
    for validated, average in zip(probe.validated, probe.average, strict=True):
        np.testing.assert_array_equal(validated, average)  # validation read the average
    for weight, average in zip(model.trainable_variables, probe.average, strict=True):
        np.testing.assert_array_equal(weight.numpy(), average)  # and the model ends with it
    assert not np.allclose(probe.raw[0], probe.average[0])  # the average is not the last step's weights
