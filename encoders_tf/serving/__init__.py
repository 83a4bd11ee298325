"""A local server with TensorFlow Serving's REST API, for trying exported models without tensorflow_model_server.

    from encoders_tf.serving import ModelServer
    with ModelServer("saved_models", port=0) as server:
        ...  # POST {server.url}/v1/models/NAME:predict  {"instances": ["a lovely film"]}
"""

import logging

from encoders_tf.serving.repository import ModelRepository, ModelVersion, ServeError
from encoders_tf.serving.rest_api import RestApi
from encoders_tf.serving.server import MAX_BODY_BYTES, ModelServer, serve

__all__ = ["MAX_BODY_BYTES", "ModelRepository", "ModelServer", "ModelVersion", "RestApi", "ServeError",
           "main_serve", "serve"]


def main_serve(base, host, port):
    """`encoders-tf serve`: prints `serving N models from BASE on http://HOST:PORT`, serves until Ctrl-C.

    Model loads, unloads and load failures are logged to stderr, one line each.

    Args:
        base: the model base path root (e.g. "saved_models").
        host: the address to listen on (e.g. "127.0.0.1"; "0.0.0.0" for every interface).
        port: the port (e.g. 8501, TF Serving's REST port; 0 for any free one).

    Returns:
        0, after Ctrl-C.

    Raises:
        ServeError: `base` is not a directory, models.config is invalid, or the port cannot be bound
            (bad input: report the message in one line and exit 2).

    Example (serves until Ctrl-C)::

        main_serve("saved_models", "127.0.0.1", 8501)  # prints: serving 2 models from saved_models on ...
    """
    logger = logging.getLogger("encoders_tf.serving")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    serve(base, host, port)
    return 0
