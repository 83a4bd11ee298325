"""EncoderConfig: one frozen description of an encoder, its presets and a JSON round trip."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

ARCHITECTURES = ("transformer", "lstm")
ACTIVATIONS = ("gelu", "gelu_approximate", "relu")
POSITION_EMBEDDINGS = ("learned", "sinusoidal", "relative")
NORMALIZATIONS = ("layer_norm", "rms_norm")
TRANSFORMER_POOLINGS = ("cls", "mean", "max", "weighted", "pooler")
LSTM_POOLINGS = ("last", "mean", "max", "weighted")


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Everything needed to build an encoder: `build_encoder(config)` turns it into a Keras layer.

    Args:
        architecture: "transformer" or "lstm".
        vocabulary_size: number of token ids (set from the tokenizer when a model is built).
        max_length: longest token sequence, special tokens included.
        hidden_size: Transformer width; the LSTM's embedding size.
        num_layers: Transformer blocks, or stacked LSTM layers.
        num_heads: attention heads (Transformer).
        intermediate_size: feed-forward inner width (Transformer).
        activation: feed-forward activation, "gelu" (exact), "gelu_approximate" (tanh) or "relu".
        norm_first: pre-norm blocks when True; post-norm (BERT) when False.
        position_embedding: "learned", "sinusoidal" or "relative" (T5 buckets) (Transformer).
        type_vocabulary_size: number of segment ids; 0 for no token-type embedding.
        dropout: dropout rate on embeddings, residual branches and between LSTM layers.
        attention_dropout: dropout on the attention probabilities.
        layer_norm_epsilon: LayerNormalization epsilon.
        pooling: how `pooled_output` is made: "cls", "mean", "max", "weighted", "pooler" (BERT's: [CLS]
            through dense and tanh) (Transformer) or "last", "mean", "max", "weighted" (LSTM).
        lstm_units: LSTM cells per direction.
        bidirectional: run the LSTM both ways and concatenate.
        embedding_size: token embedding width when it differs from hidden_size (ALBERT's factorization; an
            LSTM's embedding, whose width is hidden_size otherwise).
        share_layers: one set of block weights for all layers (ALBERT).
        position_offset: learned position rows skipped (RoBERTa: 2).
        normalization: "layer_norm" or "rms_norm" (T5).
        use_bias: biases in the attention and feed-forward projections (T5: False).
        gated_feed_forward: gated feed-forward (T5 v1.1's gated GELU).
        key_dim: attention head size when it is not hidden_size // num_heads (T5's d_kv).
        scale_scores: divide attention scores by √d_k (T5: False).
        relative_buckets, relative_max_distance: T5's relative position buckets.
        normalize_pooled: L2-normalize the pooled output (sentence embeddings).

    Example:
    >>> config = EncoderConfig.preset("transformer", vocabulary_size=8000)
    >>> config.hidden_size
    128
    """

    architecture: str = "transformer"
    vocabulary_size: int = 8000
    max_length: int = 128
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 2
    intermediate_size: int = 512
    activation: str = "gelu"
    norm_first: bool = False
    position_embedding: str = "learned"
    type_vocabulary_size: int = 0
    dropout: float = 0.1
    attention_dropout: float = 0.1
    layer_norm_epsilon: float = 1e-12
    pooling: str = "cls"
    lstm_units: int = 128
    bidirectional: bool = False
    embedding_size: int | None = None
    share_layers: bool = False
    position_offset: int = 0
    normalization: str = "layer_norm"
    use_bias: bool = True
    gated_feed_forward: bool = False
    key_dim: int | None = None
    scale_scores: bool = True
    relative_buckets: int = 32
    relative_max_distance: int = 128
    normalize_pooled: bool = False

    def __post_init__(self):
        _check_choice("architecture", self.architecture, ARCHITECTURES)
        for name in ("vocabulary_size", "max_length", "hidden_size", "num_layers"):
            _check_positive(name, getattr(self, name))
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        if self.architecture == "lstm":
            _check_positive("lstm_units", self.lstm_units)
            _check_choice("pooling", self.pooling, LSTM_POOLINGS)
            return
        _check_positive("num_heads", self.num_heads)
        _check_positive("intermediate_size", self.intermediate_size)
        if self.key_dim is None and self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_heads ({self.num_heads})"
            )
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("position_embedding", self.position_embedding, POSITION_EMBEDDINGS)
        _check_choice("normalization", self.normalization, NORMALIZATIONS)
        _check_choice("pooling", self.pooling, TRANSFORMER_POOLINGS)
        if self.type_vocabulary_size < 0:
            raise ValueError(f"type_vocabulary_size must be >= 0, got {self.type_vocabulary_size!r}")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "EncoderConfig":
        """A named configuration (see `PRESETS`), with fields overridden by keyword."""
        if name not in PRESETS:
            raise ValueError(f"unknown model {name!r}; accepted: {', '.join(PRESETS)}")
        return dataclasses.replace(PRESETS[name], **overrides)

    def replace(self, **changes: Any) -> "EncoderConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "EncoderConfig":
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown EncoderConfig fields {unknown}; accepted: {sorted(known)}")
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "EncoderConfig":
        return cls.from_dict(json.loads(text))


def _check_choice(name: str, value: Any, accepted: tuple[str, ...]) -> None:
    if value not in accepted:
        raise ValueError(f"unknown {name} {value!r}; accepted: {', '.join(accepted)}")


def _check_positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


_SIZES = {  # hidden, layers, heads, intermediate
    "tiny": (128, 2, 2, 512),
    "small": (512, 4, 8, 2048),
    "base": (768, 12, 12, 3072),
}
# Each family as options of the one implementation; "base" is the published base shape.
_FAMILIES = {
    "bert": dict(vocabulary_size=30522, max_length=512, type_vocabulary_size=2),
    "roberta": dict(vocabulary_size=50265, max_length=512, type_vocabulary_size=1, position_offset=2,
                    layer_norm_epsilon=1e-5),
    "albert": dict(vocabulary_size=30000, max_length=512, type_vocabulary_size=2, embedding_size=128,
                   share_layers=True, activation="gelu_approximate", dropout=0.0, attention_dropout=0.0),
    "distilbert": dict(vocabulary_size=30522, max_length=512, type_vocabulary_size=0),
    "t5": dict(vocabulary_size=32128, max_length=512, norm_first=True, normalization="rms_norm",
               layer_norm_epsilon=1e-6, use_bias=False, scale_scores=False, position_embedding="relative",
               activation="relu", key_dim=64, pooling="mean"),
}


def _family_preset(family, size):
    hidden, layers, heads, intermediate = _SIZES[size]
    if family == "distilbert" and size == "base":
        layers = 6
    if family == "t5" and size == "small":  # t5-small: d_model 512, 6 layers, 8 heads, d_ff 2048
        layers = 6
    return EncoderConfig(hidden_size=hidden, num_layers=layers, num_heads=heads, intermediate_size=intermediate,
                         **_FAMILIES[family])


PRESETS: dict[str, EncoderConfig] = {
    # The classic baseline: Embedding(128) -> LSTM(128), pooled by the last state.
    "lstm": EncoderConfig(architecture="lstm", hidden_size=128, lstm_units=128, num_layers=1,
                          pooling="last", dropout=0.0),
    "bilstm": EncoderConfig(architecture="lstm", hidden_size=128, lstm_units=128, num_layers=1,
                            pooling="last", bidirectional=True, dropout=0.0),
    # A small BERT-shaped encoder that trains from scratch on a laptop-sized machine.
    "transformer": EncoderConfig(hidden_size=128, num_layers=2, num_heads=2, intermediate_size=512),
    "transformer-tiny": EncoderConfig(hidden_size=64, num_layers=1, num_heads=2, intermediate_size=128),
    **{f"{family}-{size}": _family_preset(family, size) for family in _FAMILIES for size in _SIZES},
}
