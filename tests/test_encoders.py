"""The encoder contract, for both families: inputs, outputs, padding invariance, serialization."""

import keras
import numpy as np
import pytest

from encoders_tf.config import EncoderConfig
from encoders_tf.encoders import LSTMEncoder, TransformerEncoder, build_encoder

VOCAB = 40
CONFIGS = {
    "transformer-post-norm": EncoderConfig(vocabulary_size=VOCAB, max_length=24, hidden_size=16, num_layers=2,
                                           num_heads=2, intermediate_size=32, type_vocabulary_size=2),
    "transformer-pre-norm-sinusoidal-mean": EncoderConfig(
        vocabulary_size=VOCAB, max_length=24, hidden_size=16, num_layers=2, num_heads=4, intermediate_size=32,
        norm_first=True, position_embedding="sinusoidal", activation="relu", pooling="mean"),
    "transformer-max": EncoderConfig(vocabulary_size=VOCAB, max_length=24, hidden_size=16, num_heads=2,
                                     intermediate_size=32, pooling="max"),
    "transformer-weighted": EncoderConfig(vocabulary_size=VOCAB, max_length=24, hidden_size=16, num_heads=2,
                                          intermediate_size=32, pooling="weighted"),
    "lstm": EncoderConfig(architecture="lstm", vocabulary_size=VOCAB, hidden_size=16, lstm_units=12,
                          pooling="last", num_layers=1),
    "bilstm-stacked": EncoderConfig(architecture="lstm", vocabulary_size=VOCAB, hidden_size=16, lstm_units=12,
                                    num_layers=2, bidirectional=True, pooling="last"),
    "lstm-mean": EncoderConfig(architecture="lstm", vocabulary_size=VOCAB, hidden_size=16, lstm_units=12,
                               pooling="mean"),
    "bilstm-weighted": EncoderConfig(architecture="lstm", vocabulary_size=VOCAB, hidden_size=16, lstm_units=12,
                                     bidirectional=True, pooling="weighted"),
}


def _batch(lengths, width, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.zeros((len(lengths), width), dtype="int32")
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(5, VOCAB, size=length)
    return {"token_ids": ids, "padding_mask": ids != 0}


@pytest.mark.parametrize("name", CONFIGS)
def test_contract_shapes(name):
    config = CONFIGS[name]
    encoder = build_encoder(config)
    outputs = encoder(_batch([5, 3, 7], 7))
    width = encoder.output_size
    assert set(outputs) == {"sequence_output", "pooled_output"}
    assert tuple(outputs["sequence_output"].shape) == (3, 7, width)
    assert tuple(outputs["pooled_output"].shape) == (3, width)
    expected_width = config.lstm_units * (2 if config.bidirectional else 1) \
        if config.architecture == "lstm" else config.hidden_size
    assert width == expected_width


@pytest.mark.parametrize("name", CONFIGS)
def test_padding_never_changes_unpadded_outputs(name):
    encoder = build_encoder(CONFIGS[name])
    lengths = [6, 2, 9]
    tight = _batch(lengths, 9)
    # The same tokens with 8 more padded steps, whose ids are junk (not the pad id): only the mask says "pad".
    padded = {key: np.pad(value, ((0, 0), (0, 8))) for key, value in tight.items()}
    padded["token_ids"][:, 9:] = 7
    a, b = encoder(tight), encoder(padded)
    for row, length in enumerate(lengths):
        np.testing.assert_allclose(b["sequence_output"][row, :length], a["sequence_output"][row, :length],
                                   atol=1e-5)
    np.testing.assert_allclose(b["pooled_output"], a["pooled_output"], atol=1e-5)
    # And each row alone, unpadded, gives the same as in the padded batch.
    for row, length in enumerate(lengths):
        alone = encoder({key: value[row:row + 1, :length] for key, value in tight.items()})
        np.testing.assert_allclose(alone["pooled_output"][0], a["pooled_output"][row], atol=1e-5)


def test_segment_ids_change_the_output_when_type_embeddings_exist():
    encoder = build_encoder(CONFIGS["transformer-post-norm"])
    batch = _batch([5], 5)
    plain = encoder(batch)["pooled_output"]
    segmented = encoder({**batch, "segment_ids": np.array([[0, 0, 1, 1, 1]], "int32")})["pooled_output"]
    assert not np.allclose(plain, segmented)


def test_lstm_last_state_is_the_state_after_the_last_real_token():
    encoder = LSTMEncoder(vocabulary_size=VOCAB, embedding_size=8, units=6)
    batch = _batch([4, 2], 6)
    outputs = encoder(batch)
    # For a forward LSTM, the last state equals the sequence output at the last unpadded step.
    np.testing.assert_allclose(outputs["pooled_output"][0], outputs["sequence_output"][0, 3], atol=1e-6)
    np.testing.assert_allclose(outputs["pooled_output"][1], outputs["sequence_output"][1, 1], atol=1e-6)


def test_lstm_default_is_the_classic_baseline():
    config = EncoderConfig.preset("lstm", vocabulary_size=VOCAB)
    encoder = build_encoder(config)
    assert (encoder.embedding_size, encoder.units, encoder.bidirectional) == (128, 128, False)
    encoder(_batch([3], 3))
    # Embedding V x 128 + LSTM 4 x (128 x 128 + 128 x 128 + 128).
    assert encoder.count_params() == VOCAB * 128 + 4 * (128 * 128 * 2 + 128)


def test_transformer_parameter_count():
    config = CONFIGS["transformer-post-norm"]
    encoder = build_encoder(config)
    encoder(_batch([3], 3))
    h, i, v = 16, 32, VOCAB
    embeddings = v * h + 24 * h + 2 * h + 2 * h
    block = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 2 * 2 * h
    assert encoder.count_params() == embeddings + 2 * block


@pytest.mark.parametrize("name", ["transformer-pre-norm-sinusoidal-mean", "bilstm-weighted"])
def test_keras_file_round_trip_is_bit_for_bit(name, tmp_path):
    encoder = build_encoder(CONFIGS[name], name="encoder")
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    mask = keras.Input(shape=(None,), dtype="bool", name="padding_mask")
    outputs = encoder({"token_ids": ids, "padding_mask": mask})
    model = keras.Model({"token_ids": ids, "padding_mask": mask}, outputs)
    batch = _batch([4, 7], 7)
    path = tmp_path / "encoder.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    for key, value in model(batch).items():
        np.testing.assert_array_equal(restored(batch)[key], value)
    assert isinstance(restored.get_layer("encoder"), type(encoder))
    assert restored.get_layer("encoder").get_config() == encoder.get_config()


@pytest.mark.parametrize("cls", [TransformerEncoder, LSTMEncoder])
def test_get_config_round_trip(cls):
    encoder = cls(vocabulary_size=VOCAB, **({"hidden_size": 16, "num_heads": 2, "intermediate_size": 8}
                                             if cls is TransformerEncoder else {"units": 8}))
    clone = cls.from_config(encoder.get_config())
    assert clone.get_config() == encoder.get_config()


def test_config_json_round_trip_and_validation():
    config = EncoderConfig.preset("bilstm", vocabulary_size=123)
    assert EncoderConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match=r"unknown model 'gru'; accepted: lstm, bilstm, transformer"):
        EncoderConfig.preset("gru")
    with pytest.raises(ValueError, match=r"hidden_size \(10\) must be divisible by num_heads \(4\)"):
        EncoderConfig(hidden_size=10, num_heads=4)
    with pytest.raises(ValueError, match=r"unknown pooling 'cls'; accepted: last, mean, max, weighted"):
        EncoderConfig(architecture="lstm", pooling="cls")
    with pytest.raises(ValueError, match=r"num_layers must be a positive integer, got 0"):
        EncoderConfig(num_layers=0)
    with pytest.raises(ValueError, match=r"unknown EncoderConfig fields \['colour'\]"):
        EncoderConfig.from_dict({"colour": "red"})
