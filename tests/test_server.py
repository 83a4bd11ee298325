"""The local TF Serving REST server: status, metadata, predict against Keras, new versions, hostile requests."""

import base64
import concurrent.futures
import http.client
import json
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from encoders_tf.cli import main
from encoders_tf.export import export_for_serving
from encoders_tf.serving import ModelServer, ServeError
from tests.conftest import write_sentiment_csv

TEXTS = ["a lovely superb film", "the plot was dull and boring", "okay acting", "", "  ", "café 🎬 ok", "x" * 300]
MAX_BODY = 2 * 2**20  # small enough to test the limit cheaply, large enough for a 1 MB string


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 3-class LSTM run, exported as demo/1 (with models.config), and its Keras model."""
    root = tmp_path_factory.mktemp("serving")
    data = write_sentiment_csv(root / "reviews.csv", rows=96, classes=3)
    run, base = root / "run", root / "saved_models"
    assert main(["train", "--model", "lstm", "--dataset", str(data), "--epochs", "1", "--batch-size", "16",
                 "--max-length", "16", "--vocabulary-size", "100", "--out", str(run)]) == 0
    assert main(["export", "--model", str(run), "--name", "demo", "--base", str(base)]) == 0
    return {"root": root, "run": run, "base": base, "model": keras.models.load_model(run / "model.keras")}


@pytest.fixture(scope="module")
def server(exported):
    with ModelServer(exported["base"], port=0, poll_seconds=0.2, max_body_bytes=MAX_BODY) as running:
        yield running


def request(server, method, path, body=None, headers=None):
    """(HTTP status, parsed JSON body) of one request on a fresh connection."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        assert response.getheader("Content-Type") == "application/json"
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def predict(server, body, path="/v1/models/demo:predict"):
    status, answer = request(server, "POST", path, body)
    assert status == 200, answer
    return answer


def keras_probabilities(model, texts):
    return model.probabilities(tf.constant(texts)).numpy()


def wait_for(condition, seconds=15.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_status_lists_the_loaded_version(server):
    expected = {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    assert request(server, "GET", "/v1/models/demo") == (200, expected)
    assert request(server, "GET", "/v1/models/demo/versions/1") == (200, expected)
    assert server.models() == {"demo": [1]}


def test_metadata_shows_the_signature_defs_as_tf_serving_does(server):
    status, answer = request(server, "GET", "/v1/models/demo/metadata")
    assert status == 200
    assert answer["model_spec"] == {"name": "demo", "signature_name": "", "version": "1"}
    signatures = answer["metadata"]["signature_def"]["signature_def"]
    assert {"serving_default", "encode"} <= set(signatures)
    default = signatures["serving_default"]
    assert set(default) == {"inputs", "outputs", "method_name", "defaults"}
    assert default["method_name"] == "tensorflow/serving/predict"
    assert default["inputs"] == {"text": {"dtype": "DT_STRING", "name": "serving_default_text:0", "tensor_shape": {
        "dim": [{"size": "-1", "name": ""}], "unknown_rank": False}}}
    outputs = default["outputs"]
    assert set(outputs) == {"probabilities", "label", "label_name"}
    assert outputs["probabilities"]["dtype"] == "DT_FLOAT"
    assert outputs["probabilities"]["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}, {"size": "3", "name": ""}]
    assert outputs["label"]["dtype"] == "DT_INT64" and outputs["label_name"]["dtype"] == "DT_STRING"
    encode = signatures["encode"]
    assert encode["inputs"]["text"]["name"] == "encode_text:0"
    assert [d["size"] for d in encode["outputs"]["embedding"]["tensor_shape"]["dim"]] == ["-1", "128"]
    assert request(server, "GET", "/v1/models/demo/versions/1/metadata") == (200, answer)


def test_predict_rows_and_columns_match_the_keras_model(server, exported):
    expected = keras_probabilities(exported["model"], TEXTS)
    rows = predict(server, {"instances": TEXTS})["predictions"]
    assert len(rows) == len(TEXTS) and all(set(row) == {"probabilities", "label", "label_name"} for row in rows)
    np.testing.assert_allclose([row["probabilities"] for row in rows], expected, atol=1e-5)
    assert [row["label"] for row in rows] == expected.argmax(axis=-1).tolist()
    assert [row["label_name"] for row in rows] == [str(label) for label in expected.argmax(axis=-1)]

    columns = predict(server, {"inputs": {"text": TEXTS}})["outputs"]
    assert set(columns) == {"probabilities", "label", "label_name"}
    np.testing.assert_allclose(columns["probabilities"], expected, atol=1e-5)
    assert columns["label"] == [row["label"] for row in rows]
    # The other spellings of the same request: {"text": ...} objects, {"b64": ...} strings, a plain list.
    objects = predict(server, {"instances": [{"text": {"b64": base64.b64encode(t.encode()).decode()}} for t in TEXTS]})
    assert objects == {"predictions": rows}
    assert predict(server, {"inputs": TEXTS}) == {"outputs": columns}


def test_floats_are_written_so_that_they_read_back_exactly(server, exported):
    loaded = tf.saved_model.load(str(exported["base"] / "demo" / "1"))
    direct = loaded.signatures["serving_default"](text=tf.constant(TEXTS))["probabilities"].numpy()
    columns = predict(server, {"inputs": TEXTS})["outputs"]
    assert np.array_equal(np.array(columns["probabilities"], dtype=np.float32), direct)


def test_encode_signature_returns_the_pooled_embedding(server, exported):
    model = exported["model"]
    expected = model.encode(tf.constant(TEXTS))
    rows = predict(server, {"signature_name": "encode", "instances": TEXTS})["predictions"]
    np.testing.assert_allclose(rows, expected.numpy(), atol=1e-5)  # one output: each prediction is the vector
    columns = predict(server, {"signature_name": "encode", "inputs": {"text": TEXTS}})["outputs"]
    assert columns == rows


@pytest.mark.parametrize("text", [
    "x" * 2**20,                               # 1 MB of valid text: truncated by the tokenizer, served
    {"b64": base64.b64encode(b"\xff\xfe").decode()},  # invalid UTF-8 bytes: replaced, served
    "\ud800",                                  # a lone surrogate in the JSON string
    "",
], ids=["1MB", "invalid-utf8", "lone-surrogate", "empty"])
def test_odd_but_valid_text_is_served(server, exported, text):
    raw = (text.encode("utf-8", "surrogatepass") if isinstance(text, str)
           else base64.b64decode(text["b64"]))
    expected = keras_probabilities(exported["model"], [raw])
    rows = predict(server, {"instances": [text]})["predictions"]
    np.testing.assert_allclose(rows[0]["probabilities"], expected[0], atol=1e-5)


HOSTILE = [
    ("POST", "/v1/models/demo:predict", {"instances": []}, 400, "No values in 'instances'"),
    ("POST", "/v1/models/demo:predict", {"inputs": {"text": []}}, 400, "no values for input 'text'"),
    ("POST", "/v1/models/demo:predict", {"instances": [{"txt": "a"}]}, 400, "['text']"),
    ("POST", "/v1/models/demo:predict", {"inputs": {"txt": ["a"]}}, 400, "['text']"),
    ("POST", "/v1/models/demo:predict", {"signature_name": "encode"}, 400, "Missing 'inputs' or 'instances'"),
    ("POST", "/v1/models/demo:predict", {"instances": ["a"], "inputs": ["a"]}, 400, "not both"),
    ("POST", "/v1/models/demo:predict", {"instances": ["a", 5]}, 400, "instances[1]: JSON value 5 of type Number"),
    ("POST", "/v1/models/demo:predict", {"instances": [["a", "b"]]}, 400, "of type Array is not of expected type"),
    ("POST", "/v1/models/demo:predict", {"inputs": {"text": [["a"], ["b"]]}}, 400, "inputs.text[0]"),
    ("POST", "/v1/models/demo:predict", {"inputs": "a lovely film"}, 400, "expected a list of strings"),
    ("POST", "/v1/models/demo:predict", {"instances": [None, True]}, 400, "type Null"),
    ("POST", "/v1/models/demo:predict", {"instances": [{"b64": "@@@"}]}, 400, "not valid base64"),
    ("POST", "/v1/models/demo:predict", {"instances": "a lovely film"}, 400, "'instances' must be a list"),
    ("POST", "/v1/models/demo:predict", {"signature_name": 3, "instances": ["a"]}, 400, "must be a string"),
    ("POST", "/v1/models/demo:predict", {"signature_name": 0, "instances": ["a"]}, 400, "must be a string"),
    ("POST", "/v1/models/demo:predict", {"signature_name": "classify", "instances": ["a"]}, 400,
     "encode, serving_default"),
    ("POST", "/v1/models/demo:predict", b'{"instances": ["a lovely', 400, "JSON Parse error"),
    ("POST", "/v1/models/demo:predict", b'{"instances": ["\xff\xfe"]}', 400, "JSON Parse error"),
    ("POST", "/v1/models/demo:predict", b"[" * 100_000, 400, "JSON Parse error"),
    ("POST", "/v1/models/demo:predict", ["a lovely film"], 400, "must be a JSON object"),
    ("POST", "/v1/models/demo:predict", b"", 400, "JSON Parse error"),
    ("POST", "/v1/models/demo:predict", b"{" * (MAX_BODY + 1), 413, f"limit of {MAX_BODY} bytes"),
    ("POST", "/v1/models/nope:predict", {"instances": ["a"]}, 404, "Latest(nope) (models served: demo)"),
    ("POST", "/v1/models/demo/versions/7:predict", {"instances": ["a"]}, 404, "Specific(demo, 7) (versions: 1)"),
    ("GET", "/v1/models/nope", None, 404, "Could not find any versions of model nope"),
    ("GET", "/v1/models/demo/versions/7", None, 404, "Could not find version 7 of model demo"),
    ("GET", "/v1/models/demo/versions/7/metadata", None, 404, "Specific(demo, 7)"),
    ("GET", "/v1/models/demo:predict", None, 400, "this URL takes POST"),
    ("POST", "/v1/models/demo", {"instances": ["a"]}, 400, "this URL takes GET"),
    ("DELETE", "/v1/models/demo", None, 400, "this URL takes GET"),
    ("GET", "/v1/models", None, 400, "Missing model name"),
    ("GET", "/v2/models/demo", None, 404, "POST /v1/models/NAME[/versions/V]:predict"),
    ("POST", "/v1/models/demo:classify", {"instances": ["a"]}, 404, "no such endpoint"),
]


@pytest.mark.parametrize("method, path, body, status, message", HOSTILE,
                         ids=[f"{i}-{case[3]}-{case[4][:24]}" for i, case in enumerate(HOSTILE)])
def test_hostile_requests_get_an_error_and_the_server_keeps_serving(server, method, path, body, status, message):
    got_status, answer = request(server, method, path, body)
    assert got_status == status and set(answer) == {"error"}, answer
    assert message in answer["error"]
    assert len(predict(server, {"instances": ["a lovely film"]})["predictions"]) == 1


def test_post_without_content_length_is_refused(server):
    connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
    connection.putrequest("POST", "/v1/models/demo:predict")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 411 and "Content-Length" in json.loads(response.read())["error"]
    connection.close()


def test_errors_do_not_spoil_a_kept_alive_connection(server):
    connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
    answers = []
    for body in [b"{broken", json.dumps({"instances": ["a lovely film"]}).encode(), b'{"instances": [1]}',
                 json.dumps({"inputs": ["a dull film"]}).encode()]:
        connection.request("POST", "/v1/models/demo:predict", body=body)
        response = connection.getresponse()
        answers.append((response.status, sorted(json.loads(response.read()))))
    connection.close()
    assert answers == [(400, ["error"]), (200, ["predictions"]), (400, ["error"]), (200, ["outputs"])]


@pytest.mark.slow
def test_twenty_concurrent_requests_all_succeed(server, exported):
    texts = [f"{TEXTS[i % 3]} {i}" for i in range(20)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda text: request(server, "POST", "/v1/models/demo:predict",
                                                     {"instances": [text]}), texts))
    assert [status for status, _ in answers] == [200] * 20
    got = [answer["predictions"][0]["probabilities"] for _, answer in answers]
    np.testing.assert_allclose(got, keras_probabilities(exported["model"], texts), atol=1e-5)


@pytest.mark.slow  # waits for polling
def test_a_new_version_becomes_the_default_and_a_removed_one_is_unloaded(exported, tmp_path):
    base = tmp_path / "saved_models"
    shutil.copytree(exported["base"] / "demo", base / "demo")  # no models.config: found as a subdirectory
    with ModelServer(base, port=0, poll_seconds=0.1) as server:
        assert server.models() == {"demo": [1]}
        # Version 2 of the same weights, told other class names, so that its answers can be told apart.
        renamed = keras.models.load_model(exported["run"] / "model.keras")
        renamed.class_names = ["negative", "neutral", "positive"]
        export_for_serving(renamed, "demo", base)
        wait_for(lambda: server.models() == {"demo": [1, 2]})
        assert request(server, "GET", "/v1/models/demo/metadata")[1]["model_spec"]["version"] == "2"
        assert [v["version"] for v in request(server, "GET", "/v1/models/demo")[1]["model_version_status"]] == [
            "2", "1"]
        newest = predict(server, {"instances": ["a lovely superb film"]})["predictions"][0]
        assert newest["label_name"] in {"negative", "neutral", "positive"}
        first = predict(server, {"instances": ["a lovely superb film"]}, "/v1/models/demo/versions/1:predict")
        assert first["predictions"][0]["label_name"] in {"0", "1", "2"}

        shutil.rmtree(base / "demo" / "2")
        wait_for(lambda: server.models() == {"demo": [1]})
        assert request(server, "GET", "/v1/models/demo/versions/2")[0] == 404
        assert request(server, "GET", "/v1/models/demo/metadata")[1]["model_spec"]["version"] == "1"


def test_a_version_that_fails_to_load_is_reported_and_the_others_served(exported, tmp_path):
    base = tmp_path / "saved_models"
    shutil.copytree(exported["base"] / "demo" / "1", base / "demo" / "1")
    (base / "demo" / "2").mkdir()
    (base / "demo" / "2" / "saved_model.pb").write_bytes(b"not a SavedModel")
    with ModelServer(base, port=0) as server:
        status, answer = request(server, "GET", "/v1/models/demo")
        broken, working = answer["model_version_status"]
        assert broken["version"] == "2" and broken["state"] == "END"
        assert broken["status"]["error_code"] != "OK" and "DecodeError" in broken["status"]["error_message"]
        assert working == {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        assert request(server, "GET", "/v1/models/demo/metadata")[1]["model_spec"]["version"] == "1"
        assert predict(server, {"instances": ["a lovely film"]})["predictions"]
        status, answer = request(server, "POST", "/v1/models/demo/versions/2:predict", {"instances": ["a"]})
        assert status == 404 and "2 (failed to load)" in answer["error"]


def test_models_config_decides_which_models_are_served(exported, tmp_path):
    base = tmp_path / "saved_models"
    for name in ("demo", "other"):
        shutil.copytree(exported["base"] / "demo" / "1", base / name / "1")
    with ModelServer(base, port=0) as server:
        assert server.models() == {"demo": [1], "other": [1]}  # no models.config: every model directory
    entry = f'name: "other" base_path: "{base / "other"}" model_platform: "tensorflow"'
    (base / "models.config").write_text(f"model_config_list {{ config {{ {entry} }} }}")
    with ModelServer(base, port=0) as server:
        assert server.models() == {"other": [1]}
        assert request(server, "GET", "/v1/models/demo")[0] == 404


def test_an_unexpected_failure_answers_500_and_the_server_goes_on(server, monkeypatch):
    def broken():
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(server.repository, "snapshot", broken)
        status, answer = request(server, "GET", "/v1/models/demo")
    assert status == 500 and "RuntimeError: disk on fire" in answer["error"]
    assert request(server, "GET", "/v1/models/demo")[0] == 200


def test_start_refuses_a_missing_base_an_invalid_config_and_a_busy_port(server, tmp_path):
    with pytest.raises(ServeError, match="is not a directory"):
        ModelServer(tmp_path / "missing", port=0).start()
    (tmp_path / "models.config").write_text("model_config_list { config { name: ")
    with pytest.raises(ServeError, match="not a valid model_config_list"):
        ModelServer(tmp_path, port=0).start()
    with pytest.raises(ServeError, match=f"cannot listen on 127.0.0.1:{server.port}"):
        ModelServer(server.repository.base, port=server.port).start()


# What the server may inherit: SIGINT ignored (a background job of a script) or blocked (a parent's libraries may
# block it: a full `make test` once left its children so, and the server then never stopped).
INHERITED_SIGINT = {"default": None,
                    "ignored": lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
                    "blocked": lambda: signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})}


@pytest.mark.slow  # a subprocess
@pytest.mark.parametrize("inherited", list(INHERITED_SIGINT))
def test_main_serve_prints_its_address_and_stops_on_ctrl_c(exported, inherited):
    code = "import sys; from encoders_tf.serving import main_serve; sys.exit(main_serve(sys.argv[1], '127.0.0.1', 0))"
    process = subprocess.Popen([sys.executable, "-c", code, str(exported["base"])], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=pathlib.Path(__file__).parents[1],
                               preexec_fn=INHERITED_SIGINT[inherited])
    try:
        line = process.stdout.readline().strip()
        match = re.fullmatch(rf"serving 1 model from {re.escape(str(exported['base']))} on http://127\.0\.0\.1:(\d+)",
                             line)
        assert match, line
        connection = http.client.HTTPConnection("127.0.0.1", int(match[1]), timeout=60)
        connection.request("GET", "/v1/models/demo")
        assert connection.getresponse().status == 200
        connection.close()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)  # both pipes read to their end: a full one would block the server
        assert process.returncode == 0, err[-2000:]
        assert "loaded demo version 1" in err
    finally:
        process.kill()
        process.wait()
