"""Warmup requests in `assets.extra/tf_serving_warmup_requests`, which TF Serving replays when it loads a version."""

import pathlib

import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

WARMUP_FILE = pathlib.Path("assets.extra") / "tf_serving_warmup_requests"
# Short and long, ASCII and not, empty: the shapes a first request might have, traced before it comes.
WARMUP_TEXTS = (["what a lovely day"], ["", "naïve café 😀 東京", "word " * 200])


def write_warmup_requests(version_dir, name, signature="serving_default", input_names=("text",),
                          batches=WARMUP_TEXTS):
    """Writes one PredictionLog record per batch of texts (fed to every input in `input_names`, e.g. `text`
    and `text_pair`); returns the file's path."""
    path = pathlib.Path(version_dir) / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for texts in batches:
            request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=name, signature_name=signature))
            for input_name in input_names:
                request.inputs[input_name].CopyFrom(tf.make_tensor_proto([t.encode("utf-8") for t in texts],
                                                                         tf.string))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(version_dir):
    """[(signature name, {input name: [text bytes, ...]}), ...] from a version's warmup file ([] when none)."""
    path = pathlib.Path(version_dir) / WARMUP_FILE
    if not path.is_file():
        return []
    requests = []
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        inputs = {key: list(tf.make_ndarray(value).reshape(-1)) for key, value in request.inputs.items()}
        requests.append((request.model_spec.signature_name or "serving_default", inputs))
    return requests
