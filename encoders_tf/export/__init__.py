"""SavedModel export for TF Serving: signatures, versions, and a check on TF Serving's loading path."""

from encoders_tf.export.model_config import MODELS_CONFIG, read_models_config, write_models_config
from encoders_tf.export.saved_model import export_for_serving, write_saved_model
from encoders_tf.export.serving_check import (PROBE_TEXTS, ServingCheckError, check_export, check_servable,
                                              run_like_tf_serving)
from encoders_tf.export.versions import check_model_name, prune_versions, versions, write_next_version
from encoders_tf.export.warmup import WARMUP_FILE, read_warmup_requests

__all__ = ["MODELS_CONFIG", "PROBE_TEXTS", "ServingCheckError", "WARMUP_FILE", "check_export", "check_model_name",
           "check_servable", "export_for_serving", "prune_versions", "read_models_config",
           "read_warmup_requests", "run_like_tf_serving", "versions", "write_models_config", "write_next_version",
           "write_saved_model"]
