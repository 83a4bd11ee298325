"""Each encoder block against a NumPy implementation of its equations, and its serialization."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from encoders_tf import layers
from tests import reference

B, T, H, HEADS = 3, 6, 8, 2


def _inputs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, H)).astype("float32")
    mask = np.array([[1] * T, [1] * 4 + [0] * 2, [1] + [0] * (T - 1)], dtype=bool)
    return x, mask


def _randomize(layer):
    """Give every weight random values (zeros-initialized biases would hide mistakes)."""
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])


def _attention_weights(attention):
    a = attention
    return dict(wq=a.query_kernel.numpy(), bq=a.query_bias.numpy(), wk=a.key_kernel.numpy(),
                bk=a.key_bias.numpy(), wv=a.value_kernel.numpy(), bv=a.value_bias.numpy(),
                wo=a.output_kernel.numpy(), bo=a.output_bias.numpy())


def test_attention_matches_numpy_per_head():
    x, mask = _inputs()
    attention = layers.MultiHeadSelfAttention(num_heads=HEADS)
    attention.build(x.shape)
    _randomize(attention)
    got = attention(x, padding_mask=mask).numpy()
    expected = reference.attention(x, mask, **_attention_weights(attention))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_attention_adds_the_bias_to_the_scores():
    x, mask = _inputs()
    attention = layers.MultiHeadSelfAttention(num_heads=1)
    attention.build(x.shape)
    # A bias of -1e9 on every key but the second makes each query copy the second value vector.
    bias = np.full((1, 1, T, T), -1e9, dtype="float32")
    bias[..., 1] = 0.0
    got = attention(x, padding_mask=np.ones((B, T), bool), attention_bias=bias).numpy()
    value = x[:, 1] @ attention.value_kernel.numpy()[:, 0] + attention.value_bias.numpy()[0]
    expected = value @ attention.output_kernel.numpy()[0] + attention.output_bias.numpy()
    np.testing.assert_allclose(got, np.repeat(expected[:, None], T, axis=1), atol=1e-5)


def test_attention_dropout_only_in_training():
    x, mask = _inputs()
    attention = layers.MultiHeadSelfAttention(num_heads=HEADS, dropout=0.5)
    inference = attention(x, padding_mask=mask, training=False).numpy()
    np.testing.assert_array_equal(inference, attention(x, padding_mask=mask).numpy())
    assert not np.allclose(inference, attention(x, padding_mask=mask, training=True).numpy())


@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_feed_forward_matches_numpy(activation):
    x, _ = _inputs()
    ffn = layers.FeedForward(intermediate_size=16, activation=activation)
    ffn.build(x.shape)
    _randomize(ffn)
    w1, b1, w2, b2 = ffn.get_weights()
    expected = reference.feed_forward(x, w1, b1, w2, b2, getattr(reference, activation))
    np.testing.assert_allclose(ffn(x).numpy(), expected, atol=1e-5)


def test_feed_forward_runs_on_rows_of_any_leading_shape():
    # The layer flattens its input to rows (B·T, H) for one 2-D matmul: the leading shape must come back,
    # known or not (a traced function with None dimensions, a symbolic keras.Input, one row).
    x, _ = _inputs()
    ffn = layers.FeedForward(intermediate_size=16, gated=True)
    expected = ffn(x).numpy()
    traced = tf.function(ffn, input_signature=[tf.TensorSpec([None, None, x.shape[-1]])])
    np.testing.assert_allclose(traced(x).numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(ffn(x[0]).numpy(), expected[0], atol=1e-6)
    assert tuple(ffn(keras.Input((None, x.shape[-1]))).shape) == (None, None, x.shape[-1])


def test_gelu_is_the_exact_erf_form():
    x = np.linspace(-4, 4, 81).astype("float32")[None, None, :]
    ffn = layers.FeedForward(intermediate_size=81)
    ffn.build((1, 1, 81))
    ffn.set_weights([np.eye(81, dtype="float32"), np.zeros(81, "float32"),
                     np.eye(81, dtype="float32"), np.zeros(81, "float32")])
    # tanh-approximate GELU differs from the exact one by up to ~4e-4 on this range.
    np.testing.assert_allclose(ffn(x).numpy(), reference.gelu(x.astype("float64")), atol=1e-6)


def test_sinusoidal_table_follows_the_paper():
    table = layers.sinusoidal_table(50, 16)
    for pos in (0, 1, 7, 49):
        for i in range(8):
            angle = pos / 10000 ** (2 * i / 16)
            assert table[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-6)


def test_longer_position_table_repeats_the_trained_rows_and_keeps_the_offset_rows():
    table = np.arange(10.0).reshape(5, 2)  # 2 offset rows, then positions 0, 1, 2
    longer = layers.longer_position_table(table, 7, offset=2)
    assert longer.shape == (9, 2)
    np.testing.assert_array_equal(longer[:2], table[:2])
    np.testing.assert_array_equal(longer[2:], table[[2, 3, 4, 2, 3, 4, 2]])
    np.testing.assert_array_equal(layers.longer_position_table(table, 3, offset=2), table)
    with pytest.raises(ValueError, match="max_length 2 is shorter than the table's 3 positions"):
        layers.longer_position_table(table, 2, offset=2)


@pytest.mark.parametrize("position_embedding", ["learned", "sinusoidal"])
def test_text_embedding_matches_numpy(position_embedding):
    ids = np.array([[2, 5, 9, 3, 0, 0]], dtype="int32")
    segments = np.array([[0, 0, 1, 1, 0, 0]], dtype="int32")
    embedding = layers.TextEmbedding(vocabulary_size=12, hidden_size=H, max_length=10,
                                     position_embedding=position_embedding, type_vocabulary_size=2,
                                     layer_norm_epsilon=1e-12)
    embedding.build(ids.shape)
    _randomize(embedding)
    token = embedding.token.embeddings.numpy()
    if position_embedding == "learned":
        positions = embedding.position.embeddings.numpy()
    else:
        positions = layers.sinusoidal_table(10, H)
    segment = embedding.segment.embeddings.numpy()
    summed = token[ids] + positions[None, : ids.shape[1]] + segment[segments]
    expected = reference.layer_norm(summed, embedding.norm.gamma.numpy(), embedding.norm.beta.numpy(), 1e-12)
    np.testing.assert_allclose(embedding(ids, segments).numpy(), expected, atol=1e-5)


def _block_reference(block, x, mask):
    w = _attention_weights(block.attention)
    ffn = block.feed_forward
    ffn_weights = (ffn.intermediate.kernel.numpy(), ffn.intermediate.bias.numpy(),
                   ffn.projection.kernel.numpy(), ffn.projection.bias.numpy())

    def norm(layer, v):
        return reference.layer_norm(v, layer.gamma.numpy(), layer.beta.numpy(), block.layer_norm_epsilon)

    if block.norm_first:
        h = x + reference.attention(norm(block.attention_norm, x), mask, **w)
        return h + reference.feed_forward(norm(block.feed_forward_norm, h), *ffn_weights)
    h = norm(block.attention_norm, x + reference.attention(x, mask, **w))
    return norm(block.feed_forward_norm, h + reference.feed_forward(h, *ffn_weights))


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_transformer_block_matches_numpy(norm_first):
    x, mask = _inputs()
    block = layers.TransformerBlock(num_heads=HEADS, intermediate_size=16, norm_first=norm_first,
                                    layer_norm_epsilon=1e-6)
    block.build(x.shape)
    _randomize(block)
    np.testing.assert_allclose(block(x, padding_mask=mask).numpy(), _block_reference(block, x, mask),
                               atol=2e-5)


def _pool_reference(mode, h, mask, pooling):
    if mode == "cls":
        return h[:, 0]
    if mode == "pooler":
        return np.tanh(h[:, 0] @ pooling.kernel.numpy() + pooling.bias.numpy())
    m = mask[:, :, None]
    if mode == "mean":
        return (h * m).sum(1) / m.sum(1)
    if mode == "max":
        return np.where(m, h, -np.inf).max(1)
    scores = np.where(mask, h @ pooling.score_vector.numpy(), -np.inf)
    return (reference.softmax(scores)[:, :, None] * h).sum(1)


@pytest.mark.parametrize("mode", layers.POOLING_MODES)
def test_pooling_matches_numpy(mode):
    x, mask = _inputs()
    pooling = layers.SequencePooling(mode)
    pooling.build(x.shape)
    _randomize(pooling)
    np.testing.assert_allclose(pooling(x, padding_mask=mask).numpy(), _pool_reference(mode, x, mask, pooling),
                               atol=1e-5)


@pytest.mark.parametrize("mode", ["mean", "max", "weighted"])
def test_pooling_ignores_padded_values(mode):
    x, mask = _inputs()
    pooling = layers.SequencePooling(mode)
    changed = np.where(mask[:, :, None], x, 1e4).astype("float32")
    np.testing.assert_allclose(pooling(x, padding_mask=mask).numpy(),
                               pooling(changed, padding_mask=mask).numpy(), atol=1e-6)


def test_unknown_pooling_is_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown pooling 'sum'; accepted: cls, mean, max, weighted, pooler"):
        layers.SequencePooling("sum")


LAYERS = {
    "attention": lambda: layers.MultiHeadSelfAttention(num_heads=HEADS, dropout=0.1),
    "feed_forward": lambda: layers.FeedForward(intermediate_size=16, activation="relu"),
    "block": lambda: layers.TransformerBlock(num_heads=HEADS, intermediate_size=16, norm_first=True),
    "position": lambda: layers.PositionEmbedding(max_length=10),
    "sinusoidal": lambda: layers.SinusoidalPositionEncoding(max_length=10),
    "pooling": lambda: layers.SequencePooling("weighted"),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layers_serialize(name):
    x, mask = _inputs()
    layer = LAYERS[name]()
    kwargs = {"padding_mask": mask} if name in ("attention", "block", "pooling") else {}
    expected = layer(x, **kwargs).numpy()
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert clone.get_config() == layer.get_config()
    assert clone.built  # rebuilt from its build config
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x, **kwargs).numpy(), expected)


def test_text_embedding_serializes():
    ids = np.array([[2, 5, 9, 3]], dtype="int32")
    embedding = layers.TextEmbedding(vocabulary_size=12, hidden_size=H, max_length=10, type_vocabulary_size=2)
    expected = embedding(ids).numpy()
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(embedding))
    assert clone.built
    clone.set_weights(embedding.get_weights())
    np.testing.assert_array_equal(clone(ids).numpy(), expected)
