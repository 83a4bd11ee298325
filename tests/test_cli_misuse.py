"""Every subcommand against a table of misuses: exit code 2, one line on stderr naming the value, no traceback."""

import pathlib
import socket
import subprocess
import sys

import pytest

from encoders_tf.cli import main
from tests.conftest import write_sentiment_csv


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """Files and directories of the wrong kind, and a real run directory that is not a classifier run."""
    import encoders_tf
    from encoders_tf.checkpoints import save_converted
    from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary

    tmp = tmp_path_factory.mktemp("misuse")
    (tmp / "empty.csv").write_text("")
    (tmp / "header_only.csv").write_text("text,label\n")
    (tmp / "not_a_run").mkdir()
    (tmp / "half_run").mkdir()
    (tmp / "half_run" / "run.json").write_text("{}")
    (tmp / "file.txt").write_text("just a file\n")
    write_sentiment_csv(tmp / "data.csv", rows=40)
    (tmp / "one_class.csv").write_text("text,label\n" + "".join(f"text number {i},1\n" for i in range(40)))
    vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
    config = encoders_tf.EncoderConfig.preset("transformer-tiny", vocabulary_size=len(vocabulary), max_length=16)
    save_converted(WordPieceTokenizer(vocabulary, max_length=16), encoders_tf.build_encoder(config), config,
                   tmp / "encoder_run")
    return tmp


def _busy_port():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    return listener


MISUSES = [
    # (argv with {tmp} for the fixture's directory, words the one line must hold)
    ([], ["command"]),
    (["fly"], ["'fly'", "train"]),
    (["train", "--bogus"], ["--bogus"]),
    (["train", "--epochs", "0"], ["--epochs", "'0'", "positive integer"]),
    (["train", "--model", "gru"], ["'gru'", "lstm"]),
    (["train", "--dataset", "{tmp}/missing.csv"], ["missing.csv", "not found"]),
    (["train", "--dataset", "{tmp}/empty.csv"], ["empty.csv"]),
    (["train", "--dataset", "{tmp}/header_only.csv"], ["header_only.csv"]),
    (["train", "--dataset", "{tmp}/file.txt"], ["file.txt", ".csv"]),
    (["train", "--init", "/nonexistent"], ["/nonexistent", "run directory"]),
    (["train", "--init", "{tmp}/not_a_run"], ["not_a_run", "model.keras"]),
    (["train", "--init", "{tmp}/half_run"], ["half_run", "model.keras"]),
    (["train", "--init", "{tmp}/file.txt"], ["file.txt", "not a directory"]),
    (["train", "--model", "lstm", "--pooling", "cls", "--dataset", "{tmp}/data.csv"], ["--pooling", "'cls'", "last"]),
    (["train", "--init", "{tmp}/encoder_run", "--pooling", "last", "--dataset", "{tmp}/data.csv"],
     ["--pooling", "'last'", "--init run's encoder transformer"]),
    (["train", "--task", "tokens", "--pooling", "max"], ["--pooling", "--task tokens"]),
    (["train", "--warmup", "1.5"], ["--warmup", "'1.5'", "[0, 1)"]),
    (["train", "--weight-decay", "-1"], ["--weight-decay", "'-1'"]),
    (["train", "--validation-fraction", "1"], ["--validation-fraction", "'1'", "[0, 1)"]),
    (["train", "--validation-fraction", "0", "--early-stopping", "1", "--dataset", "{tmp}/data.csv"],
     ["--early-stopping", "--validation-fraction 0", "--epochs"]),
    (["train", "--precision", "float8"], ["float8", "float32"]),
    (["train", "--strategy", "quantum", "--dataset", "{tmp}/data.csv"], ["quantum", "mirrored"]),
    (["pretrain"], ["one text source", "none", "--text-file"]),
    (["pretrain", "--dataset", "imdb", "--text-dir", "{tmp}"], ["--dataset, --text-dir"]),
    (["pretrain", "--text-file", "{tmp}/empty.csv"], ["empty.csv"]),
    (["pretrain", "--text-file", "{tmp}/missing.txt"], ["missing.txt"]),
    (["pretrain", "--text-dir", "{tmp}/not_a_run"], ["not_a_run", ".txt"]),
    (["pretrain", "--mask-rate", "1.5"], ["--mask-rate", "'1.5'"]),
    (["pretrain", "--text-file", "{tmp}/file.txt", "--init", "{tmp}/not_a_run"], ["not_a_run", "model.keras"]),
    (["train", "--task", "tokens", "--dataset", "{tmp}/empty.csv"], ["empty.csv"]),
    (["train", "--task", "tokens", "--label-column", "y"], ["--label-column", "--task tokens"]),
    (["train", "--task", "words"], ["'words'", "tokens"]),
    (["train", "--augment-factor", "-1"], ["--augment-factor", "'-1'", "integer >= 0"]),
    (["train", "--augment-mask", "2"], ["--augment-mask", "'2'", "[0, 1]"]),
    (["train", "--task", "tokens", "--augment-factor", "2"], ["--augment-factor", "--task tokens"]),
    (["train", "--task", "tokens", "--augment-pair-swap"], ["--augment-pair-swap", "--task tokens"]),
    (["train", "--dataset", "{tmp}/data.csv", "--augment-pair-swap"], ["--augment-pair-swap", "pair data"]),
    (["distill", "--dataset", "{tmp}/data.csv"], ["--teacher"]),
    (["distill", "--teacher", "/nonexistent", "--dataset", "{tmp}/data.csv"], ["/nonexistent", "run directory"]),
    (["distill", "--teacher", "{tmp}/not_a_run"], ["not_a_run", "model.keras"]),
    (["distill", "--teacher", "{tmp}/encoder_run", "--dataset", "{tmp}/data.csv"], ["TextEncoder", "classifier run"]),
    (["distill", "--teacher", "{tmp}/encoder_run", "--temperature", "0"], ["--temperature", "'0'", "positive"]),
    (["distill", "--teacher", "{tmp}/encoder_run", "--temperature", "-2"], ["--temperature", "'-2'"]),
    (["distill", "--teacher", "{tmp}/encoder_run", "--alpha", "1.5"], ["--alpha", "'1.5'", "[0, 1]"]),
    (["distill", "--teacher", "{tmp}/encoder_run", "--alpha", "-0.1"], ["--alpha", "'-0.1'"]),
    (["distill", "--teacher", "{tmp}/encoder_run", "--augment-factor", "-3"], ["--augment-factor", "'-3'"]),
    (["distill", "--teacher", "{tmp}/encoder_run", "--match", "mse", "--temperature", "3"], ["temperature", "mse"]),
    (["distill", "--teacher", "{tmp}/encoder_run", "--student", "gru"], ["'gru'", "bilstm"]),
    (["compare", "--models", "lstm,gru", "--out", "{tmp}/c"], ["'gru'", "lstm", "run directory"]),
    (["compare", "--models", "lstm,{tmp}/encoder_run", "--out", "{tmp}/c"], ["TextEncoder", "classifier run"]),
    (["compare", "--models", "lstm,{tmp}/not_a_run", "--out", "{tmp}/c"], ["not_a_run", "model.keras"]),
    (["compare", "--models", "lstm,lstm", "--out", "{tmp}/c"], ["lstm twice"]),
    (["compare", "--models", ",", "--out", "{tmp}/c"], ["--models", "no model"]),
    (["compare", "--budget-minutes", "0"], ["--budget-minutes", "'0'", "positive"]),
    (["compare", "--dataset", "{tmp}/one_class.csv", "--out", "{tmp}/c"], ["one_class.csv", "one class"]),
    (["compare", "--lengths", "32,x"], ["--lengths", "'32,x'"]),
    (["compare", "--latency-budget-ms", "-5"], ["--latency-budget-ms", "'-5'"]),
    (["evaluate"], ["--model"]),
    (["evaluate", "--model", "/nonexistent"], ["/nonexistent"]),
    (["evaluate", "--model", "{tmp}/encoder_run"], ["TextEncoder", "TextClassifier"]),
    (["evaluate", "--model", "{tmp}/encoder_run", "--split", "dev"], ["--split", "'dev'"]),
    (["convert", "--from-hf", "/nonexistent", "--out", "{tmp}/x"], ["/nonexistent"]),
    (["convert", "--from-hf", "{tmp}/not_a_run", "--out", "{tmp}/x"], ["config.json"]),
    (["export", "--model", "/nonexistent"], ["/nonexistent", "run directory"]),
    (["export", "--model", "{tmp}/not_a_run"], ["model.keras"]),
    (["export", "--model", "{tmp}/encoder_run", "--name", "a/b"], ["a/b"]),
    (["check-serving", "/nonexistent"], ["/nonexistent"]),
    (["check-serving", "{tmp}/not_a_run"], ["not_a_run", "version"]),
    (["serve", "--port", "70000"], ["--port", "'70000'", "0 to 65535"]),
    (["serve", "--port", "-1"], ["--port", "'-1'"]),
    (["serve", "--base", "/nonexistent", "--port", "0"], ["/nonexistent"]),
    (["serve", "--engine", "docker"], ["'docker'", "embedded"]),
    (["demo", "--epochs", "zero"], ["--epochs", "'zero'"]),
]


@pytest.mark.parametrize("argv, words", MISUSES, ids=[" ".join(argv) or "(none)" for argv, _ in MISUSES])
def test_misuse_exits_2_with_one_line(paths, capsys, argv, words):
    argv = [arg.replace("{tmp}", str(paths)) for arg in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("encoders-tf: error: ") and "\n" not in err and "Traceback" not in err, err
    for word in words:
        assert word.replace("{tmp}", str(paths)) in err, (word, err)


def test_a_port_in_use_is_bad_input(paths, capsys):
    listener = _busy_port()
    try:
        port = listener.getsockname()[1]
        (paths / "models").mkdir(exist_ok=True)
        assert main(["serve", "--base", str(paths / "models"), "--port", str(port)]) == 2
        err = capsys.readouterr().err.strip()
        assert str(port) in err and "\n" not in err and "Traceback" not in err
    finally:
        listener.close()


@pytest.mark.slow  # a subprocess
def test_serve_on_port_0_takes_a_free_port(paths):
    """The console script, as users run it: `--port 0` serves on a port the system picks and says which."""
    script = pathlib.Path(sys.executable).with_name("encoders-tf")
    (paths / "models").mkdir(exist_ok=True)
    process = subprocess.Popen([str(script), "serve", "--base", str(paths / "models"), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        port = int(line.rsplit(":", 1)[1])
        assert port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow  # subprocesses
def test_console_script_help_is_fast_and_bad_usage_has_no_traceback():
    script = pathlib.Path(sys.executable).with_name("encoders-tf")
    result = subprocess.run([str(script), "train", "--init", "/nonexistent"], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "/nonexistent" in result.stderr
    # --help imports no TensorFlow: the subcommands import what they need when they run.
    probe = "import sys, encoders_tf.cli as c\ntry:\n    c.main(['train', '--help'])\nexcept SystemExit:\n    pass\n" \
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip().endswith("False False"), result.stdout + result.stderr
