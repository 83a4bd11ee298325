"""SavedModel export for TF Serving: signatures, versions, and a check on TF Serving's loading path."""

from encoders_tf.export.saved_model import export_for_serving, write_saved_model
from encoders_tf.export.serving_check import PROBE_TEXTS, ServingCheckError, check_export, run_like_tf_serving
from encoders_tf.export.versions import check_model_name, versions, write_next_version

__all__ = ["PROBE_TEXTS", "ServingCheckError", "check_export", "check_model_name", "export_for_serving", "run_like_tf_serving", "versions",
           "write_next_version", "write_saved_model"]
