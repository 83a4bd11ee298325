"""TensorFlow Serving's REST API (model status, metadata, predict) over a ModelRepository.

Requests and responses follow https://www.tensorflow.org/tfx/serving/api_rest and TF Serving's
http_rest_api_handler.cc / json_tensor.cc: the same URLs, JSON shapes, error body `{"error": "..."}` and
status codes (400 for a bad request, 404 for an unknown model, version or URL).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse

import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2, model_pb2

DEFAULT_SIGNATURE = "serving_default"

_PREDICT_URL = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?:predict", re.IGNORECASE)
_STATUS_URL = re.compile(r"/v1/models(?:/([^/:]+))?(?:/versions/(\d+))?(/metadata)?", re.IGNORECASE)
_ENDPOINTS = ("GET /v1/models/NAME[/versions/V] (status), GET /v1/models/NAME[/versions/V]/metadata, "
              "POST /v1/models/NAME[/versions/V]:predict")
_STRING_FORM = 'a string, or {"b64": "<base64 of the bytes>"}'


class RestError(Exception):
    """A request the API answers with an HTTP error status and `{"error": message}`."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class RestApi:
    """Answers TF Serving REST requests from the models of a ModelRepository.

    Args:
        repository: a ModelRepository (or anything with `snapshot()` -> {name: {version: ModelVersion}}).

    Example:
    >>> from encoders_tf.serving import ModelRepository
    >>> repository = ModelRepository("saved_models")
    >>> repository.refresh()
    >>> api = RestApi(repository)
    >>> status, answer = api.handle("POST", "/v1/models/demo:predict", b'{"instances": ["a lovely film"]}')
    >>> status, sorted(answer["predictions"][0])
    (200, ['label', 'label_name', 'probabilities'])
    """

    def __init__(self, repository):
        self.repository = repository

    def handle(self, method, target, body):
        """(HTTP status, JSON-able response) for one request; never raises for a bad request.

        Args:
            method: "GET", "POST", ...
            target: the request target, e.g. "/v1/models/demo/versions/2:predict" (a query string is ignored).
            body: the request body, bytes.
        """
        path = urllib.parse.urlsplit(target).path
        try:
            predict, status = _PREDICT_URL.fullmatch(path), _STATUS_URL.fullmatch(path)
            if predict and method == "POST":
                return 200, self.predict(_model_name(predict[1]), _version(predict[2]), body)
            if status and method == "GET":
                if not status[1]:
                    raise RestError(400, "Missing model name in request. (ask GET /v1/models/NAME)")
                answer = self.metadata if status[3] else self.status
                return 200, answer(_model_name(status[1]), _version(status[2]))
            if predict or status:
                expected = "POST" if predict else "GET"
                raise RestError(400, f"Malformed request: {method} {path} (this URL takes {expected})")
            raise RestError(404, f"no such endpoint: {method} {path} (accepted: {_ENDPOINTS})")
        except RestError as error:
            return error.status, {"error": str(error)}

    def status(self, name, version=None):
        """GetModelStatus as JSON: every version of the model (newest first), or the one asked for."""
        known = self.repository.snapshot().get(name)
        if not known:
            raise RestError(404, f"Could not find any versions of model {name} ({self._models_served()})")
        if version is not None and version not in known:
            raise RestError(404, f"Could not find version {version} of model {name} "
                                 f"(versions: {_listing(known)})")
        response = get_model_status_pb2.GetModelStatusResponse()
        for number in [version] if version is not None else sorted(known, reverse=True):
            entry = known[number]
            status = response.model_version_status.add(version=entry.version)
            status.state = status.AVAILABLE if entry.available else status.END
            status.status.error_code = entry.error_code
            status.status.error_message = entry.error or ""
        return _proto_json(response)

    def metadata(self, name, version=None):
        """GetModelMetadata as JSON: the model spec and every SignatureDef of the version (default: latest)."""
        entry = self._servable(name, version)
        spec = model_pb2.ModelSpec(name=name, signature_name="")
        spec.version.value = entry.version
        signature_defs = get_model_metadata_pb2.SignatureDefMap()
        for key, signature_def in entry.signature_defs.items():
            signature_defs.signature_def[key].CopyFrom(signature_def)
        return {"model_spec": _proto_json(spec), "metadata": {"signature_def": _proto_json(signature_defs)}}

    def predict(self, name, version, body):
        """Runs a signature on the instances (row format) or inputs (columnar format) of a JSON body."""
        entry = self._servable(name, version)
        request = _parse_json(body)
        signature = request.get("signature_name", "")
        if not isinstance(signature, str):
            raise RestError(400, f"'signature_name' must be a string, got {_preview(signature)}")
        signature = signature or DEFAULT_SIGNATURE
        function = entry.signatures.get(signature)
        if function is None:
            raise RestError(400, f'Serving signature name: "{signature}" not found in signature def (signatures '
                                 f"of {name} version {entry.version}: {', '.join(sorted(entry.signatures))})")
        specs = _input_specs(function, signature)
        if "instances" in request and "inputs" in request:
            raise RestError(400, "send either 'instances' (row format) or 'inputs' (columnar format), not both")
        if "instances" in request:
            inputs, row_format = _tensors_from_instances(request["instances"], specs), True
        elif "inputs" in request:
            inputs, row_format = _tensors_from_inputs(request["inputs"], specs), False
        else:
            raise RestError(400, f"Missing 'inputs' or 'instances' key (got keys: "
                                 f"{', '.join(sorted(request)) or 'none'})")
        try:
            outputs = function(**inputs)
        except tf.errors.InvalidArgumentError as error:
            raise RestError(400, error.message) from None
        columns = {key: _json_values(key, value.numpy()) for key, value in outputs.items()}
        return _rows(columns) if row_format else _columns(columns)

    def _servable(self, name, version):
        """The version asked for, or the latest available one; 404 as TF Serving words it."""
        known = self.repository.snapshot().get(name, {})
        available = {number: entry for number, entry in known.items() if entry.available}
        chosen = max(available, default=None) if version is None else version
        if chosen not in available:
            wanted = f"Latest({name})" if version is None else f"Specific({name}, {version})"
            hint = f"versions: {_listing(known)}" if known else self._models_served()
            raise RestError(404, f"Servable not found for request: {wanted} ({hint})")
        return available[chosen]

    def _models_served(self):
        names = sorted(self.repository.snapshot())
        return f"models served: {', '.join(names)}" if names else "no models are loaded"


def _model_name(text):
    return urllib.parse.unquote(text)


def _version(text):
    return None if text is None else int(text)


def _listing(known):
    """'1, 2 (failed to load)' for the status of each version."""
    return ", ".join(f"{v}" if known[v].available else f"{v} (failed to load)" for v in sorted(known))


def _proto_json(message):
    """A proto as TF Serving prints it: proto field names, default values included."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def _preview(value, limit=80):
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _json_type(value):
    """The JSON type name of a parsed value, as TF Serving's messages name it."""
    for kind, name in ((bool, "Boolean"), (int, "Number"), (float, "Number"), (str, "String"), (list, "Array"),
                       (dict, "Object")):
        if isinstance(value, kind):
            return name
    return "Null"


def _parse_json(body):
    try:
        request = json.loads(body)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise RestError(400, f"JSON Parse error: {error}") from None
    if not isinstance(request, dict):
        raise RestError(400, f"the request body must be a JSON object with 'instances' or 'inputs', got "
                             f"{_json_type(request)} {_preview(request)}")
    return request


def _input_specs(function, signature_name):
    """{input name: TensorSpec}; only string inputs with a batch dimension can be fed from JSON here."""
    specs = function.structured_input_signature[1]
    for key, spec in specs.items():
        if spec.dtype != tf.string or not spec.shape.rank:
            raise RestError(400, f"signature {signature_name!r} input {key!r} is {spec.dtype.name} of shape "
                                 f"{spec.shape}: this server feeds string inputs with a batch dimension (as "
                                 f"encoders_tf exports take); serve other models with tensorflow_model_server")
    return specs


def _is_b64(value):
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _string(value, where):
    """One JSON leaf -> bytes: a string (UTF-8, lone surrogates kept as bytes) or {"b64": ...}."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if _is_b64(value):
        encoded = value["b64"]
        try:
            return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error:
            raise RestError(400, f"{where}: {_preview(value)} is not valid base64") from None
    raise RestError(400, f"{where}: JSON value {_preview(value)} of type {_json_type(value)} is not of expected "
                         f"type DT_STRING (send {_STRING_FORM})")


def _strings(value, rank, where):
    """Nested lists `rank` deep with string leaves -> (flat list of bytes, shape)."""
    if rank == 0:
        return [_string(value, where)], []
    if not isinstance(value, list):
        expected = "a list of strings" if rank == 1 else f"lists nested {rank} deep around the strings"
        raise RestError(400, f"{where}: expected {expected}, got {_json_type(value)} {_preview(value)}")
    flat, shapes = [], set()
    for index, item in enumerate(value):
        item_flat, item_shape = _strings(item, rank - 1, f"{where}[{index}]")
        flat.extend(item_flat)
        shapes.add(tuple(item_shape))
    if len(shapes) > 1:
        raise RestError(400, f"{where}: lists of different shapes {sorted(shapes)}: a tensor must be rectangular")
    return flat, [len(value), *(shapes.pop() if shapes else [0] * (rank - 1))]


def _tensor(flat, shape, spec, key):
    if not shape[0]:
        raise RestError(400, f"no values for input {key!r}: send at least one")
    if not spec.shape.is_compatible_with(shape):
        raise RestError(400, f"input {key!r} has shape {shape}; the signature takes {spec.shape} "
                             f"(None: any size)")
    return tf.constant(flat, dtype=tf.string, shape=shape)


def _tensors_from_instances(instances, specs):
    """Row format: a list of instances, each a value (one input) or an object keyed by input name."""
    if not isinstance(instances, list):
        raise RestError(400, f"'instances' must be a list, got {_json_type(instances)} {_preview(instances)}")
    if not instances:
        raise RestError(400, f"No values in 'instances' array: send at least one instance ({_STRING_FORM}, "
                             f"or an object keyed by input name: {', '.join(sorted(specs))})")
    keys = sorted(specs)
    columns = {key: [] for key in keys}
    shapes = {key: set() for key in keys}
    for index, instance in enumerate(instances):
        if isinstance(instance, dict) and not _is_b64(instance):
            if sorted(instance) != keys:
                raise RestError(400, f"instances[{index}]: JSON object keys {sorted(instance)} must be equal to "
                                     f"the signature's inputs {keys}")
            values = instance
        elif len(keys) == 1:
            values = {keys[0]: instance}
        else:
            raise RestError(400, f"instances[{index}] is a plain value, but the signature has several inputs: "
                                 f"send objects keyed by {keys}")
        for key in keys:
            where = f"instances[{index}]" + (f".{key}" if values is instance else "")
            flat, shape = _strings(values[key], specs[key].shape.rank - 1, where)
            columns[key].extend(flat)
            shapes[key].add(tuple(shape))
    tensors = {}
    for key in keys:
        if len(shapes[key]) > 1:
            raise RestError(400, f"the instances give input {key!r} in different shapes {sorted(shapes[key])}")
        tensors[key] = _tensor(columns[key], [len(instances), *shapes[key].pop()], specs[key], key)
    return tensors


def _tensors_from_inputs(inputs, specs):
    """Columnar format: the whole batch as one value (one input) or an object keyed by input name."""
    keys = sorted(specs)
    if isinstance(inputs, dict) and not _is_b64(inputs):
        if sorted(inputs) != keys:
            raise RestError(400, f"'inputs' object keys {sorted(inputs)} must be equal to the signature's inputs "
                                 f"{keys}")
        values = inputs
    elif len(keys) == 1:
        values = {keys[0]: inputs}
    else:
        raise RestError(400, f"'inputs' is a plain value, but the signature has several inputs: send an object "
                             f"keyed by {keys}")
    tensors = {}
    for key in keys:
        flat, shape = _strings(values[key], specs[key].shape.rank, f"inputs.{key}")
        tensors[key] = _tensor(flat, shape, specs[key], key)
    return tensors


def _json_values(name, array):
    """A numpy output as nested JSON lists, written the way TF Serving writes tensors.

    float32: the shortest decimal that reads back as the same float32 (0.2, not 0.20000000298023224).
    strings: UTF-8 text (invalid bytes replaced); {"b64": ...} when the output name ends in "_bytes".
    """
    if array.dtype == np.float32:
        convert = _shortest_float
    elif array.dtype == object:
        convert = _base64_object if name.endswith("_bytes") else _text
    else:
        return array.tolist()
    return np.array([convert(x) for x in array.ravel()], dtype=object).reshape(array.shape).tolist()


def _shortest_float(value):
    return float(str(value))  # str of a numpy float32 gives its shortest round-trip digits


def _base64_object(value):
    return {"b64": base64.b64encode(value).decode("ascii")}


def _text(value):
    return value.decode("utf-8", "replace")


def _rows(columns):
    """Row format: one prediction per batch item; an object of outputs when there are several."""
    sizes = {key: len(value) if isinstance(value, list) else None for key, value in columns.items()}
    if len(set(sizes.values())) != 1 or None in sizes.values():
        raise RestError(400, f"outputs with different batch sizes {sizes} cannot be returned as rows: "
                             f"send 'inputs' (columnar format) instead of 'instances'")
    if len(columns) == 1:
        return {"predictions": next(iter(columns.values()))}
    batch = next(iter(sizes.values()))
    return {"predictions": [{key: value[index] for key, value in columns.items()} for index in range(batch)]}


def _columns(columns):
    """Columnar format: the output itself when there is one, else an object of outputs."""
    return {"outputs": next(iter(columns.values())) if len(columns) == 1 else columns}
