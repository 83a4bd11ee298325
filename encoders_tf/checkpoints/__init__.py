"""Weight import: Hugging Face checkpoints (safetensors, no torch at run time)."""

from encoders_tf.checkpoints.converted import save_converted
from encoders_tf.checkpoints.hf_config import SUPPORTED_MODEL_TYPES, UnsupportedCheckpoint
from encoders_tf.checkpoints.hf_weights import CheckpointError
from encoders_tf.checkpoints.huggingface import from_hf, load_hf_encoder, read_hf_config

__all__ = ["CheckpointError", "SUPPORTED_MODEL_TYPES", "UnsupportedCheckpoint", "from_hf", "load_hf_encoder",
           "read_hf_config", "save_converted"]
