"""Run a SavedModel the way TensorFlow Serving's C++ loader does, importing only tensorflow and tensorflow_text.

TF Serving does not use the Python object API: it imports the MetaGraph tagged "serve", runs the saver's
restore op fed the variables path, runs the init op fed the asset paths, then runs a signature's tensors by
name in a session. `tf.saved_model.load` passes models that this path cannot run, so exports are checked here.

Run as a script (never import encoders_tf or keras here):

    python tf_serving_session.py EXPORT_DIR [SIGNATURE] < texts.json

stdin: a JSON list of base64-encoded byte strings. stdout: one JSON object
{"outputs": {name: nested lists}, "ops": [every op type in the graph and its functions],
 "modules": [top-level Python modules loaded, to show that nothing but TensorFlow and TF Text was needed]}.
"""

import base64
import json
import os
import sys

import tensorflow as tf
import tensorflow_text  # noqa: F401  registers TF Text's ops, as TF Serving links its op library
from tensorflow.core.protobuf import saved_model_pb2

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


def run(export_dir, texts, signature="serving_default"):
    """Returns (outputs dict of numpy arrays, sorted op types) for `texts` (a list of bytes)."""
    meta_graph = _serving_meta_graph(export_dir)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(meta_graph.graph_def, name="")
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
        signature_def = meta_graph.signature_def[signature]
        (text_input,) = signature_def.inputs.values()
        fetches = {key: info.name for key, info in signature_def.outputs.items()}
        outputs = session.run(fetches, {text_input.name: texts})
    return outputs, _op_types(meta_graph.graph_def)


def main(argv):
    export_dir = argv[1]
    signature = argv[2] if len(argv) > 2 else "serving_default"
    texts = [base64.b64decode(item) for item in json.load(sys.stdin)]
    outputs, ops = run(export_dir, texts, signature)
    modules = sorted({name.split(".")[0] for name in sys.modules})
    json.dump({"outputs": {key: value.tolist() for key, value in outputs.items()}, "ops": ops,
               "modules": modules}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
