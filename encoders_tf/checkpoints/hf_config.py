"""Hugging Face `config.json` -> EncoderConfig, refusing by name what the one implementation does not do."""

from encoders_tf.config import EncoderConfig
from encoders_tf.errors import InputError

SUPPORTED_MODEL_TYPES = ("bert", "roberta", "albert", "distilbert", "t5")
_ACTIVATIONS = {"gelu": "gelu", "relu": "relu", "gelu_new": "gelu_approximate",
                "gelu_pytorch_tanh": "gelu_approximate"}


class UnsupportedCheckpoint(InputError):
    """A checkpoint whose family or options encoders_tf does not implement; never mapped approximately."""


def _refuse(source, what, value, accepted):
    raise UnsupportedCheckpoint(f"{source}: {what} {value!r} is not supported (accepted: {accepted})")


def _activation(source, name):
    if name not in _ACTIVATIONS:
        _refuse(source, "hidden_act", name, ", ".join(_ACTIVATIONS))
    return _ACTIVATIONS[name]


def encoder_config_from_hf(hf, source="config.json"):
    """The EncoderConfig equal to a Hugging Face config dict of a supported family.

    Args:
        hf: the parsed config.json.
        source: the file name, for error messages.

    Raises:
        UnsupportedCheckpoint naming the model type or option that is not supported.
    """
    model_type = hf.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        _refuse(source, "model_type", model_type, ", ".join(SUPPORTED_MODEL_TYPES))
    if hf.get("is_decoder") and model_type != "t5":
        _refuse(source, "is_decoder", True, "false: encoders only")
    if model_type == "t5":
        return _t5(hf, source)
    if model_type == "distilbert":
        return EncoderConfig(
            vocabulary_size=hf["vocab_size"], max_length=hf["max_position_embeddings"], hidden_size=hf["dim"],
            num_layers=hf["n_layers"], num_heads=hf["n_heads"], intermediate_size=hf["hidden_dim"],
            activation=_activation(source, hf.get("activation", "gelu")), type_vocabulary_size=0,
            dropout=hf.get("dropout", 0.1), attention_dropout=hf.get("attention_dropout", 0.1),
            layer_norm_epsilon=1e-12)
    if hf.get("position_embedding_type", "absolute") != "absolute":
        _refuse(source, "position_embedding_type", hf["position_embedding_type"], "absolute")
    offset = 0
    if model_type == "roberta":
        offset = hf.get("pad_token_id", 1) + 1  # positions start past the padding index
    options = dict(
        vocabulary_size=hf["vocab_size"], max_length=hf["max_position_embeddings"] - offset,
        hidden_size=hf["hidden_size"], num_layers=hf["num_hidden_layers"], num_heads=hf["num_attention_heads"],
        intermediate_size=hf["intermediate_size"], activation=_activation(source, hf.get("hidden_act", "gelu")),
        type_vocabulary_size=hf.get("type_vocab_size", 2), dropout=hf.get("hidden_dropout_prob", 0.1),
        attention_dropout=hf.get("attention_probs_dropout_prob", 0.1),
        layer_norm_epsilon=hf.get("layer_norm_eps", 1e-12), position_offset=offset)
    if model_type == "albert":
        for option in ("num_hidden_groups", "inner_group_num"):
            if hf.get(option, 1) != 1:
                _refuse(source, option, hf[option], "1 (one shared layer)")
        options.update(embedding_size=hf["embedding_size"], share_layers=True)
    return EncoderConfig(**options)


def _t5(hf, source):
    projection = hf.get("feed_forward_proj", "relu")
    if projection not in ("relu", "gated-gelu"):
        _refuse(source, "feed_forward_proj", projection, "relu, gated-gelu")
    return EncoderConfig(
        vocabulary_size=hf["vocab_size"], max_length=512, hidden_size=hf["d_model"], num_layers=hf["num_layers"],
        num_heads=hf["num_heads"], intermediate_size=hf["d_ff"], key_dim=hf["d_kv"],
        activation="relu" if projection == "relu" else "gelu_approximate",
        gated_feed_forward=projection == "gated-gelu", norm_first=True, normalization="rms_norm",
        layer_norm_epsilon=hf.get("layer_norm_epsilon", 1e-6), use_bias=False, scale_scores=False,
        position_embedding="relative", relative_buckets=hf.get("relative_attention_num_buckets", 32),
        relative_max_distance=hf.get("relative_attention_max_distance", 128), type_vocabulary_size=0,
        dropout=hf.get("dropout_rate", 0.1), attention_dropout=hf.get("dropout_rate", 0.1), pooling="mean")
