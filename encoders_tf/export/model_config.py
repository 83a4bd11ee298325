"""`models.config`: TF Serving's model_config_list, listing every model under a base path."""

import pathlib

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from encoders_tf.export.versions import versions

MODELS_CONFIG = "models.config"


def models_config(base):
    """A ModelServerConfig with one entry per model directory under `base` that holds a version."""
    base = pathlib.Path(base).resolve()
    config = model_server_config_pb2.ModelServerConfig()
    for model_dir in sorted(p for p in base.iterdir() if p.is_dir() and versions(p)):
        entry = config.model_config_list.config.add()
        entry.name = model_dir.name
        entry.base_path = str(model_dir)
        entry.model_platform = "tensorflow"
    return config


def write_models_config(base):
    """Rewrites `base`/models.config for `tensorflow_model_server --model_config_file`; returns its path."""
    path = pathlib.Path(base) / MODELS_CONFIG
    staging = path.with_name(f".{MODELS_CONFIG}.tmp")
    staging.write_text(text_format.MessageToString(models_config(base)))
    staging.replace(path)  # atomic: a polling server never reads half a file
    return path


def read_models_config(path):
    """Parses a models.config file into a ModelServerConfig (ValueError naming the file if invalid)."""
    config = model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(pathlib.Path(path).read_text(), config)
    except text_format.ParseError as error:
        raise ValueError(f"{path}: not a valid model_config_list ({error})") from None
    return config
