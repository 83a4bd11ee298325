"""Run an exported SavedModel on TF Serving's loading path, in a fresh process, from Python."""

import base64
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import tensorflow as tf

from encoders_tf.errors import RunFailure

SESSION_SCRIPT = pathlib.Path(__file__).with_name("tf_serving_session.py")
# Ops that TF Serving cannot run: they call back into a Python interpreter that it does not have.
PYTHON_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


# Texts every export is checked on: ordinary, empty, whitespace, emoji and other non-ASCII, very long, and
# bytes that are not valid UTF-8.
PROBE_TEXTS = [
    "what a wonderful day",
    "this is the worst service I have ever had",
    "",
    "   \t\n ",
    "naïve café 😀🔥 東京 ñandú",
    "long " * 20_000,
    b"\xff\xfe invalid \xc3\x28 utf-8 \xa0",
]


class ServingCheckError(RunFailure):
    """The SavedModel does not load or run the way TF Serving loads and runs it."""


def _base64(text):
    return base64.b64encode(text if isinstance(text, bytes) else text.encode("utf-8")).decode("ascii")


def _run_session_script(export_dir, requests, timeout):
    payload = {"requests": [
        {"signature": signature, "inputs": {name: [_base64(t) for t in texts] for name, texts in inputs.items()}}
        for signature, inputs in requests]}
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, str(SESSION_SCRIPT), str(export_dir)], input=json.dumps(payload),
                            capture_output=True, text=True, timeout=timeout, env=env)
    if result.returncode != 0:
        raise ServingCheckError(f"{export_dir}: the TF Serving loading path failed:\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout)
    problems = sorted(PYTHON_OPS.intersection(report["ops"])) + report["unknown_ops"]
    if problems:
        raise ServingCheckError(f"{export_dir}: the graph holds ops TF Serving cannot run: {problems}")
    return report


def run_like_tf_serving(export_dir, texts, signature="serving_default", timeout=300, text_pairs=None):
    """Runs `signature` on `texts` in a new process that imports only tensorflow and tensorflow_text.

    Args:
        export_dir: a SavedModel version directory.
        texts: strings or bytes (bytes may be invalid UTF-8), fed as `text`.
        signature: the signature to run.
        timeout: seconds before the process is stopped.
        text_pairs: the second texts, fed as `text_pair` (pair classifiers).

    Returns:
        (outputs: dict name -> numpy array, report: {"ops", "text_ops", "unknown_ops", "modules"}).

    Raises:
        ServingCheckError when loading or running fails, or the graph holds an op TF Serving lacks.
    """
    inputs = {"text": list(texts)} if text_pairs is None else {"text": list(texts), "text_pair": list(text_pairs)}
    report = _run_session_script(export_dir, [(signature, inputs)], timeout)
    (outputs,) = report.pop("results")
    return {key: np.asarray(value) for key, value in outputs.items()}, report


def check_servable(export_dir, timeout=300):
    """Loads a version as TF Serving does, replays its warmup requests, and checks every op is servable.

    Returns:
        A report: {"path", "warmup_requests", "ops", "text_ops", "unknown_ops": []}.

    Raises:
        ServingCheckError saying what would keep TF Serving from serving it.
    """
    from encoders_tf.export.warmup import read_warmup_requests

    requests = read_warmup_requests(export_dir)
    if not requests:
        raise ServingCheckError(f"{export_dir}: no warmup requests in assets.extra/tf_serving_warmup_requests")
    report = _run_session_script(export_dir, requests, timeout)
    results = report.pop("results")
    for (signature, inputs), outputs in zip(requests, results):
        texts = inputs["text"]
        for name, value in outputs.items():
            if len(value) != len(texts):
                raise ServingCheckError(f"{export_dir}: warmup request to {signature!r} gave {len(value)} "
                                        f"{name} for {len(texts)} texts")
    report.pop("modules")
    return {"path": str(export_dir), "warmup_requests": len(requests), **report}


def check_export(model, export_dir, texts=PROBE_TEXTS, tolerance=1e-5):
    """Checks that the export gives the Keras model's outputs on TF Serving's loading path.

    Every output of `serving_default` is compared with what the task model's own endpoint gives in this
    process: numbers within `tolerance`, strings and integers exactly. A pair model gets each probe text
    paired with the probes in reverse order.

    Args:
        model: the task model that was exported (`encoders_tf.tasks.Task`).
        export_dir: the SavedModel version directory.
        texts: texts to compare on (default: ordinary and hostile probes).
        tolerance: largest accepted absolute difference.

    Returns:
        The largest absolute difference seen (a float).
    """
    function, signature = model.serving_endpoints()["serving_default"]
    text_pairs = list(reversed(texts)) if len(signature) == 2 else None
    served, _ = run_like_tf_serving(export_dir, texts, text_pairs=text_pairs)
    arguments = [tf.constant(list(texts), tf.string)]
    if text_pairs is not None:
        arguments.append(tf.constant(text_pairs, tf.string))
    expected = {name: np.asarray(value) for name, value in function(*arguments).items()}
    difference = 0.0
    for name, value in expected.items():
        got = served.get(name)
        if got is None or got.shape != value.shape:
            raise ServingCheckError(f"{export_dir}: served {name} has shape {None if got is None else got.shape}, "
                                    f"the Keras model's {value.shape}")
        if value.dtype.kind == "f":
            difference = max(difference, float(np.max(np.abs(got - value), initial=0.0)))
            if not difference <= tolerance:
                raise ServingCheckError(f"{export_dir}: served {name} differ from the Keras model's by {difference} "
                                        f"(tolerance {tolerance})")
        else:
            value = np.vectorize(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else v)(value) \
                if value.dtype.kind in "SO" and value.size else value
            if not np.array_equal(got, value):
                raise ServingCheckError(f"{export_dir}: served {name} differ from the Keras model's")
    return difference
