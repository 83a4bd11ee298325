"""Hugging Face safetensors weights -> the variables of our TransformerEncoder, by name, shapes checked."""

import json
import pathlib

import numpy as np

from encoders_tf.errors import InputError

WEIGHTS_FILE = "model.safetensors"
SHARD_INDEX_FILE = "model.safetensors.index.json"
PICKLE_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")


class CheckpointError(InputError):
    """A checkpoint file is missing, unreadable, or does not fit the configuration; names file and tensor."""


def read_safetensors(directory):
    """All tensors of a checkpoint directory as NumPy arrays (one file, or shards with an index).

    Raises:
        CheckpointError for a pickle-only checkpoint, a missing file, or a truncated/corrupted one.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    directory = pathlib.Path(directory)
    if (directory / SHARD_INDEX_FILE).is_file():
        index = json.loads((directory / SHARD_INDEX_FILE).read_text())
        files = sorted({directory / name for name in index["weight_map"].values()})
    elif (directory / WEIGHTS_FILE).is_file():
        files = [directory / WEIGHTS_FILE]
    elif any((directory / name).is_file() for name in PICKLE_FILES):
        raise CheckpointError(
            f"{directory}: only pytorch_model.bin is there, a pickle, which can run code when loaded; "
            f"encoders_tf reads safetensors only. Convert it once with transformers: "
            f"AutoModel.from_pretrained(DIR).save_pretrained(DIR, safe_serialization=True)")
    else:
        raise CheckpointError(f"{directory}: no {WEIGHTS_FILE} (expected a Hugging Face checkpoint directory "
                              f"with config.json and {WEIGHTS_FILE})")
    tensors = {}
    for file in files:
        try:
            tensors.update(load_file(str(file)))
        except (SafetensorError, OSError, ValueError) as error:
            raise CheckpointError(f"{file}: not a readable safetensors file ({error})") from None
    return tensors


def _linear(weight):
    return weight.T  # torch Linear [out, in] -> Keras kernel [in, out]


def _heads_in(num_heads):
    """[heads·d, H] torch weight -> [H, heads, d] projection kernel; [heads·d] bias -> [heads, d]."""
    def convert(weight):
        return weight.T.reshape(weight.shape[1], num_heads, -1) if weight.ndim == 2 else weight.reshape(num_heads, -1)
    return convert


def _heads_out(num_heads):
    """[H, heads·d] torch weight -> [heads, d, H] output kernel."""
    return lambda weight: weight.T.reshape(num_heads, -1, weight.shape[0])


def _identity(weight):
    return weight


def _prefix(tensors, suffix):
    for name in tensors:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    raise CheckpointError(f"no tensor named *{suffix}: this is not a checkpoint of the family its config.json names")


def _norm(layer, name, with_bias=True):
    pairs = [(layer.gamma if hasattr(layer, "gamma") else layer.scale, f"{name}.weight", _identity)]
    if with_bias:
        pairs.append((layer.beta, f"{name}.bias", _identity))
    return pairs


def _dense(layer, name, convert=_linear, bias=True):
    pairs = [(layer.kernel, f"{name}.weight", convert)]
    if bias:
        pairs.append((layer.bias, f"{name}.bias", _identity))
    return pairs


def _attention(attention, names, num_heads, bias=True):
    pairs = []
    for ours, theirs in zip(("query", "key", "value"), names[:3]):
        pairs.append((getattr(attention, f"{ours}_kernel"), f"{theirs}.weight", _heads_in(num_heads)))
        if bias:
            pairs.append((getattr(attention, f"{ours}_bias"), f"{theirs}.bias", _heads_in(num_heads)))
    pairs.append((attention.output_kernel, f"{names[3]}.weight", _heads_out(num_heads)))
    if bias:
        pairs.append((attention.output_bias, f"{names[3]}.bias", _identity))
    return pairs


_POOLERS = {"bert": "pooler.dense", "roberta": "pooler.dense", "albert": "pooler"}


def _pooler(encoder, model_type, prefix):
    """BERT's pooler dense layer, for an encoder pooled by "pooler" (none otherwise)."""
    if encoder.pooler.mode != "pooler":
        return []
    if model_type not in _POOLERS:
        raise CheckpointError(f"{model_type} checkpoints have no pooler layer, so pooling 'pooler' cannot be "
                              f"imported; accepted for: {', '.join(_POOLERS)} (or pool by cls, mean or max)")
    return _dense(encoder.pooler, f"{prefix}{_POOLERS[model_type]}")


def weight_map(encoder, model_type, tensors):
    """(variable, tensor name, convert) for every weight of `encoder`, a built TransformerEncoder."""
    heads = encoder.num_heads
    embedding = encoder.embedding
    if model_type == "t5":
        token_name = "shared.weight" if "shared.weight" in tensors else "encoder.embed_tokens.weight"
        pairs = [(embedding.token.embeddings, token_name, _identity),
                 (encoder.relative_position_bias.embeddings,
                  "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", _identity)]
        for i, block in enumerate(encoder.blocks):
            layer = f"encoder.block.{i}.layer"
            attention = [f"{layer}.0.SelfAttention.{n}" for n in "qkvo"]
            pairs += _attention(block.attention, attention, heads, bias=False)
            pairs += _norm(block.attention_norm, f"{layer}.0.layer_norm", with_bias=False)
            ffn = block.feed_forward
            dense = f"{layer}.1.DenseReluDense"
            if ffn.gate is not None:
                pairs += _dense(ffn.intermediate, f"{dense}.wi_0", bias=False)
                pairs += _dense(ffn.gate, f"{dense}.wi_1", bias=False)
            else:
                pairs += _dense(ffn.intermediate, f"{dense}.wi", bias=False)
            pairs += _dense(ffn.projection, f"{dense}.wo", bias=False)
            pairs += _norm(block.feed_forward_norm, f"{layer}.1.layer_norm", with_bias=False)
        pairs += _norm(encoder.final_norm, "encoder.final_layer_norm", with_bias=False)
        return pairs + _pooler(encoder, model_type, "")  # none, or refused: T5 has no pooler

    p = _prefix(tensors, "embeddings.word_embeddings.weight")
    pairs = [(embedding.token.embeddings, f"{p}embeddings.word_embeddings.weight", _identity),
             (embedding.position.embeddings, f"{p}embeddings.position_embeddings.weight", _identity)]
    pairs += _norm(embedding.norm, f"{p}embeddings.LayerNorm")
    if embedding.segment is not None:
        pairs.append((embedding.segment.embeddings, f"{p}embeddings.token_type_embeddings.weight", _identity))
    if encoder.embedding_projection is not None:
        pairs += _dense(encoder.embedding_projection, f"{p}encoder.embedding_hidden_mapping_in")
    for i, block in enumerate(encoder.blocks):
        if model_type == "distilbert":
            layer = f"{p}transformer.layer.{i}"
            names = dict(attention=[f"{layer}.attention.{n}_lin" for n in ("q", "k", "v", "out")],
                         attention_norm=f"{layer}.sa_layer_norm", intermediate=f"{layer}.ffn.lin1",
                         output=f"{layer}.ffn.lin2", output_norm=f"{layer}.output_layer_norm")
        elif model_type == "albert":
            layer = f"{p}encoder.albert_layer_groups.0.albert_layers.0"
            names = dict(attention=[f"{layer}.attention.{n}" for n in ("query", "key", "value", "dense")],
                         attention_norm=f"{layer}.attention.LayerNorm", intermediate=f"{layer}.ffn",
                         output=f"{layer}.ffn_output", output_norm=f"{layer}.full_layer_layer_norm")
        else:  # bert, roberta
            layer = f"{p}encoder.layer.{i}"
            names = dict(attention=[f"{layer}.attention.self.{n}" for n in ("query", "key", "value")]
                         + [f"{layer}.attention.output.dense"],
                         attention_norm=f"{layer}.attention.output.LayerNorm",
                         intermediate=f"{layer}.intermediate.dense", output=f"{layer}.output.dense",
                         output_norm=f"{layer}.output.LayerNorm")
        pairs += _attention(block.attention, names["attention"], heads)
        pairs += _norm(block.attention_norm, names["attention_norm"])
        pairs += _dense(block.feed_forward.intermediate, names["intermediate"])
        pairs += _dense(block.feed_forward.projection, names["output"])
        pairs += _norm(block.feed_forward_norm, names["output_norm"])
    return pairs + _pooler(encoder, model_type, p)


def assign_weights(encoder, model_type, tensors, source):
    """Checks every tensor's presence and shape first, then assigns them all (never a half-loaded encoder)."""
    values = []
    for variable, name, convert in weight_map(encoder, model_type, tensors):
        if name not in tensors:
            raise CheckpointError(f"{source}: tensor {name!r} is missing (needed for {variable.path})")
        value = np.asarray(convert(tensors[name]), dtype=np.float32)
        if tuple(value.shape) != tuple(variable.shape):
            raise CheckpointError(f"{source}: tensor {name!r} has shape {tuple(tensors[name].shape)}, which does "
                                  f"not fit {variable.path} {tuple(variable.shape)} for this config.json")
        values.append((variable, value))
    for variable, value in values:
        variable.assign(value)
