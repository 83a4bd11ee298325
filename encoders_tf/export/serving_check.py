"""Run an exported SavedModel on TF Serving's loading path, in a fresh process, from Python."""

import base64
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import tensorflow as tf

from encoders_tf.tasks import class_probabilities

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


class ServingCheckError(RuntimeError):
    """The SavedModel does not load or run the way TF Serving loads and runs it."""


def _run_session_script(export_dir, requests, timeout):
    payload = {"requests": [
        {"signature": signature,
         "texts": [base64.b64encode(t if isinstance(t, bytes) else t.encode("utf-8")).decode("ascii") for t in texts]}
        for signature, texts in requests]}
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


def run_like_tf_serving(export_dir, texts, signature="serving_default", timeout=300):
    """Runs `signature` on `texts` in a new process that imports only tensorflow and tensorflow_text.

    Args:
        export_dir: a SavedModel version directory.
        texts: strings or bytes (bytes may be invalid UTF-8).
        signature: the signature to run.
        timeout: seconds before the process is stopped.

    Returns:
        (outputs: dict name -> numpy array, report: {"ops", "text_ops", "unknown_ops", "modules"}).

    Raises:
        ServingCheckError when loading or running fails, or the graph holds an op TF Serving lacks.
    """
    report = _run_session_script(export_dir, [(signature, list(texts))], timeout)
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
    for (signature, texts), outputs in zip(requests, results):
        for name, value in outputs.items():
            if len(value) != len(texts):
                raise ServingCheckError(f"{export_dir}: warmup request to {signature!r} gave {len(value)} "
                                        f"{name} for {len(texts)} texts")
    report.pop("modules")
    return {"path": str(export_dir), "warmup_requests": len(requests), **report}


def check_export(model, export_dir, texts=PROBE_TEXTS, tolerance=1e-5):
    """Checks that the export gives the Keras model's outputs on TF Serving's loading path.

    A classifier's probabilities and labels are compared, a text encoder's embeddings.

    Args:
        model: the Keras model that was exported.
        export_dir: the SavedModel version directory.
        texts: texts to compare on (default: ordinary and hostile probes).
        tolerance: largest accepted absolute difference.

    Returns:
        The largest absolute difference seen (a float).
    """
    from encoders_tf.export.saved_model import is_classifier

    outputs, _ = run_like_tf_serving(export_dir, texts)
    model_outputs = model(tf.constant(list(texts)), training=False)
    if is_classifier(model):
        name, expected = "probabilities", class_probabilities(model_outputs).numpy()
    else:
        name, expected = "embedding", model_outputs["pooled_output"].numpy()
    served = outputs[name]
    difference = float(np.max(np.abs(served - expected))) if served.shape == expected.shape else float("inf")
    if not difference <= tolerance:
        raise ServingCheckError(
            f"{export_dir}: served {name} differ from the Keras model's by {difference} "
            f"(shape {served.shape} vs {expected.shape}; tolerance {tolerance})")
    if name == "probabilities" and not np.array_equal(outputs["label"], served.argmax(-1)):
        raise ServingCheckError(f"{export_dir}: served labels are not the argmax of the probabilities")
    return difference
