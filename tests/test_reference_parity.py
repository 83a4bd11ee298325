"""Our BERT against TF Model Garden's BertEncoderV2 and keras-hub's BertBackbone with identical weights."""

import numpy as np
import pytest

from encoders_tf.config import EncoderConfig
from encoders_tf.encoders import build_encoder

pytestmark = pytest.mark.slow  # parity with Model Garden and keras-hub

VOCAB, HIDDEN, LAYERS, HEADS, INNER, POSITIONS = 99, 32, 2, 4, 37, 64
# Both references use the tanh form of GELU in BERT's blocks; ours takes it as an option.
CONFIG = EncoderConfig(vocabulary_size=VOCAB, max_length=POSITIONS, hidden_size=HIDDEN, num_layers=LAYERS,
                       num_heads=HEADS, intermediate_size=INNER, type_vocabulary_size=2,
                       activation="gelu_approximate", dropout=0.0, attention_dropout=0.0)


def _our_bert():
    encoder = build_encoder(CONFIG)
    ids, mask, segments = _batch()
    encoder({"token_ids": ids, "padding_mask": mask, "segment_ids": segments})
    rng = np.random.default_rng(3)
    for variable in encoder.weights:  # random values everywhere, LayerNorm and biases included
        variable.assign(rng.normal(scale=0.3, size=variable.shape).astype("float32"))
    return encoder


def _batch():
    rng = np.random.default_rng(0)
    lengths = np.array([9, 4, 1])
    mask = np.arange(9)[None, :] < lengths[:, None]
    ids = np.where(mask, rng.integers(1, VOCAB, size=(3, 9)), 0).astype("int32")
    segments = np.where(np.arange(9)[None, :] >= 3, 1, 0).astype("int32") * mask
    return ids, mask, segments


def _bert_weights_in_reference_order(encoder):
    """Embeddings (token, position, segment, norm), then per block Q, K, V, O, norm, FFN in, FFN out, norm."""
    e = encoder.embedding
    values = [e.token.embeddings, e.position.embeddings, e.segment.embeddings, e.norm.gamma, e.norm.beta]
    for block in encoder.blocks:
        a, f = block.attention, block.feed_forward
        values += [a.query_kernel, a.query_bias, a.key_kernel, a.key_bias, a.value_kernel, a.value_bias,
                   a.output_kernel, a.output_bias, block.attention_norm.gamma, block.attention_norm.beta,
                   f.intermediate.kernel, f.intermediate.bias, f.projection.kernel, f.projection.bias,
                   block.feed_forward_norm.gamma, block.feed_forward_norm.beta]
    return [np.asarray(v) for v in values]


def _unpadded_max_difference(ours, theirs, mask):
    return float(np.abs(np.asarray(ours) - np.asarray(theirs))[mask].max())


def test_matches_model_garden_bert_encoder_v2():
    networks = pytest.importorskip(
        "official.nlp.modeling.networks",
        reason="needs tf-models-official 2.20 (make installs it with tf_keras, gin-config and scipy)")
    reference = networks.BertEncoderV2(
        vocab_size=VOCAB, hidden_size=HIDDEN, num_layers=LAYERS, num_attention_heads=HEADS,
        max_sequence_length=POSITIONS, type_vocab_size=2, inner_dim=INNER, output_dropout=0.0,
        attention_dropout=0.0)
    ids, mask, segments = _batch()
    inputs = dict(input_word_ids=ids, input_mask=mask.astype("int32"), input_type_ids=segments)
    reference(inputs)
    encoder = _our_bert()
    pooler = [np.zeros(w.shape, "float32") for w in reference.weights[-2:]]
    reference.set_weights(_bert_weights_in_reference_order(encoder) + pooler)
    expected = reference(inputs)["sequence_output"]
    ours = encoder({"token_ids": ids, "padding_mask": mask, "segment_ids": segments})["sequence_output"]
    assert _unpadded_max_difference(ours, expected, mask) <= 1e-5


def test_matches_keras_hub_bert_backbone():
    keras_hub = pytest.importorskip("keras_hub")
    reference = keras_hub.models.BertBackbone(
        vocabulary_size=VOCAB, num_layers=LAYERS, num_heads=HEADS, hidden_dim=HIDDEN, intermediate_dim=INNER,
        max_sequence_length=POSITIONS, num_segments=2, dropout=0.0)
    encoder = _our_bert()
    values = iter(_bert_weights_in_reference_order(encoder))
    targets = [reference.get_layer("token_embedding").embeddings,
               reference.get_layer("position_embedding").position_embeddings,
               reference.get_layer("segment_embedding").embeddings,
               reference.get_layer("embeddings_layer_norm").gamma, reference.get_layer("embeddings_layer_norm").beta]
    for index in range(LAYERS):
        layer = reference.get_layer(f"transformer_layer_{index}")
        attention = layer._self_attention_layer
        for dense in (attention._query_dense, attention._key_dense, attention._value_dense, attention._output_dense):
            targets += [dense.kernel, dense.bias]
        targets += [layer._self_attention_layer_norm.gamma, layer._self_attention_layer_norm.beta,
                    layer._feedforward_intermediate_dense.kernel, layer._feedforward_intermediate_dense.bias,
                    layer._feedforward_output_dense.kernel, layer._feedforward_output_dense.bias,
                    layer._feedforward_layer_norm.gamma, layer._feedforward_layer_norm.beta]
    for target in targets:
        target.assign(next(values))
    ids, mask, segments = _batch()
    expected = reference({"token_ids": ids, "segment_ids": segments, "padding_mask": mask.astype("int32")})
    ours = encoder({"token_ids": ids, "padding_mask": mask, "segment_ids": segments})["sequence_output"]
    assert _unpadded_max_difference(ours, expected["sequence_output"], mask) <= 1e-5
