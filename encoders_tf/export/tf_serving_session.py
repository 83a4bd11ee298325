"""Run a SavedModel the way TensorFlow Serving's C++ loader does, importing only tensorflow and tensorflow_text.

TF Serving does not use the Python object API: it imports the MetaGraph tagged "serve", runs the saver's
restore op fed the variables path, runs the init op fed the asset paths, then runs a signature's tensors by
name in a session. `tf.saved_model.load` passes models that this path cannot run, so exports are checked here.

Run as a script (never import encoders_tf or keras here):

    python tf_serving_session.py EXPORT_DIR < requests.json

stdin: {"requests": [{"signature": NAME, "inputs": {INPUT: [base64 of each text's bytes, ...]}}, ...]}.
stdout: one JSON object:
  "results": [{name: nested lists} per request],
  "ops": every op type in the graph and its functions,
  "text_ops": those that come from TF Text's op library (TF Serving links it),
  "unknown_ops": those neither core TensorFlow nor TF Text (TF Serving could not run them),
  "modules": top-level Python modules loaded, to show that nothing but TensorFlow and TF Text was needed.
"""

import base64
import json
import os
import sys

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

SERVE_TAG = "serve"
INIT_OP_KEY = "__saved_model_init_op"


def _serving_meta_graph(export_dir):
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    for meta_graph in saved_model.meta_graphs:
        if SERVE_TAG in meta_graph.meta_info_def.tags:
            return meta_graph
    raise SystemExit(f"{export_dir}: no MetaGraph tagged {SERVE_TAG!r}")


def _op_types(graph_def):
    ops = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        ops.update(node.op for node in function.node_def)
    return sorted(ops)


def classify_ops(ops):
    """(ops not in core TensorFlow, ops in neither core TensorFlow nor TF Text). Imports TF Text."""
    not_core = [op for op in ops if op_def_registry.get(op) is None]
    import tensorflow_text  # noqa: F401  registers TF Text's ops, as TF Serving links its op library

    return not_core, [op for op in not_core if op_def_registry.get(op) is None]


def run(export_dir, requests):
    """[outputs dict of numpy arrays per request] for requests [(signature, {input name: [bytes, ...]})]."""
    meta_graph = _serving_meta_graph(export_dir)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(meta_graph.graph_def, name="")
    results = []
    with tf.compat.v1.Session(graph=graph) as session:
        saver = meta_graph.saver_def
        variables_path = os.path.join(export_dir, "variables", "variables")
        session.run(saver.restore_op_name, {saver.filename_tensor_name: variables_path})
        asset_feeds = {
            asset.tensor_info.name: os.path.join(export_dir, "assets", asset.filename)
            for asset in meta_graph.asset_file_def
        }
        if INIT_OP_KEY in meta_graph.signature_def:
            init = meta_graph.signature_def[INIT_OP_KEY].outputs[INIT_OP_KEY].name
            session.run(init, asset_feeds)
        for signature, inputs in requests:
            signature_def = meta_graph.signature_def[signature]
            feeds = {signature_def.inputs[name].name: texts for name, texts in inputs.items()}
            fetches = {key: info.name for key, info in signature_def.outputs.items()}
            results.append(session.run(fetches, feeds))
    return results


def _jsonable(value):
    if value.dtype.kind in "SO":  # strings come back as bytes, at any rank (e.g. a tag per word: [B, W])
        if value.ndim == 0:
            item = value.item()
            return item.decode("utf-8", "replace") if isinstance(item, bytes) else item
        return [_jsonable(item) for item in value] if value.ndim > 1 else [
            item.decode("utf-8", "replace") if isinstance(item, bytes) else item for item in value]
    return value.tolist()


def main(argv):
    export_dir = argv[1]
    ops = _op_types(_serving_meta_graph(export_dir).graph_def)
    text_ops, unknown_ops = classify_ops(ops)
    requests = [(r["signature"], {name: [base64.b64decode(t) for t in texts] for name, texts in r["inputs"].items()})
                for r in json.load(sys.stdin)["requests"]]
    results = run(export_dir, requests)
    modules = sorted({name.split(".")[0] for name in sys.modules})
    json.dump({"results": [{k: _jsonable(v) for k, v in r.items()} for r in results], "ops": ops,
               "text_ops": text_ops, "unknown_ops": unknown_ops, "modules": modules}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
