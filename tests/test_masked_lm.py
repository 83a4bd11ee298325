"""MaskedLMHead (tied decoder), MaskedLanguageModel (loss, metrics, .keras round trip), document windows and
dynamic masking in tf.data."""

import zipfile

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from encoders_tf.config import EncoderConfig
from encoders_tf.encoders import build_encoder
from encoders_tf.layers import MaskedLMHead
from encoders_tf.tasks import MaskedLanguageModel
from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
from encoders_tf.text.windows import document_windows, window_pieces

TEXTS = ["the cat sat on the mat and the dog barked at the cat", "a lovely film with a dull plot",
         "rain fell on the quiet town all night long"] * 10


@pytest.fixture(scope="module")
def vocabulary():
    return train_wordpiece_vocabulary(TEXTS, 80)


def make_model(vocabulary, preset, max_length=24):
    tokenizer = WordPieceTokenizer(vocabulary, max_length=max_length, name="tokenizer")
    config = EncoderConfig.preset(preset, vocabulary_size=len(vocabulary), max_length=max_length, hidden_size=16,
                                  lstm_units=12, intermediate_size=32)
    return MaskedLanguageModel(tokenizer, build_encoder(config, name="encoder"))


def gelu(x):
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


# --- the head -------------------------------------------------------------------------------------------------

def test_head_decoder_is_tied_to_the_embedding_and_matches_numpy():
    embedding = keras.layers.Embedding(30, 8)
    embedding.build((None, None))
    head = MaskedLMHead(embedding, layer_norm_epsilon=1e-6)
    hidden = np.random.default_rng(0).normal(size=(2, 5, 12)).astype("float32")  # H = 12 != E = 8
    positions = np.array([[0, 3], [4, 1]])
    logits = head(hidden, positions).numpy()
    assert logits.shape == (2, 2, 30)
    # The head owns no [V, E] (or [E, V]) weight: only dense, LayerNorm and the output bias.
    assert sorted(tuple(w.shape) for w in head.weights) == [(8,), (8,), (8,), (12, 8), (30,)]
    head.output_bias.assign(np.linspace(-1, 1, 30).astype("float32"))
    logits = head(hidden, positions).numpy()

    kernel, bias = (w.numpy() for w in head.dense.weights)
    gamma, beta = (w.numpy() for w in head.layer_norm.weights)
    gathered = np.take_along_axis(hidden, positions[..., None], axis=1)  # [B, P, H]
    h = gelu(gathered @ kernel + bias)
    h = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + 1e-6) * gamma + beta
    expected = h @ embedding.embeddings.numpy().T + head.output_bias.numpy()
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)

    # Changing the embedding changes the logits, exactly as the tie says.
    embedding.embeddings.assign(embedding.embeddings.numpy() * 2.0)
    doubled = head(hidden, positions).numpy()
    np.testing.assert_allclose(doubled - head.output_bias.numpy(), 2.0 * (logits - head.output_bias.numpy()),
                               rtol=1e-4, atol=1e-5)


def test_head_alone_cannot_be_rebuilt_without_its_embedding():
    embedding = keras.layers.Embedding(10, 4)
    config = MaskedLMHead(embedding).get_config()
    assert "token_embedding" not in config
    with pytest.raises(ValueError, match="token_embedding=encoder.token_embedding"):
        MaskedLMHead.from_config(config)
    assert MaskedLMHead.from_config(config, token_embedding=embedding).token_embedding is embedding


# --- the task -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", ["transformer-tiny", "bilstm"])
def test_round_trip_keeps_logits_and_one_embedding(tmp_path, vocabulary, preset):
    model = make_model(vocabulary, preset)
    inputs, mask_ids, weights = model.mask_batch(model.features(TEXTS[:4]))
    before = model(inputs).numpy()
    assert before.shape == (4, model.mask_selection_length, len(vocabulary))
    path = tmp_path / "mlm.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, MaskedLanguageModel)
    np.testing.assert_array_equal(loaded(inputs).numpy(), before)  # bit for bit
    assert loaded.head.token_embedding is loaded.encoder.token_embedding  # tied again after loading
    assert loaded.count_params() == model.count_params()
    # The file stores the [V, E] embedding once, under the encoder.
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as raw, h5py.File(raw) as weights_file:
        shapes = []
        weights_file.visititems(lambda name, item: shapes.append((name, item.shape))
                                if isinstance(item, h5py.Dataset) else None)
    embedding_shape = tuple(model.encoder.token_embedding.embeddings.shape)
    assert [name for name, shape in shapes if shape == embedding_shape][0].startswith("encoder")
    assert sum(shape == embedding_shape for _, shape in shapes) == 1
    # No weight of the model besides the encoder's embedding is [V, E] or [E, V].
    v_e = [w.path for w in model.weights if tuple(w.shape) in (embedding_shape, embedding_shape[::-1])]
    assert len(v_e) == 1


def test_loss_and_metrics_count_only_real_masked_tokens(vocabulary):
    model = make_model(vocabulary, "transformer-tiny")
    inputs, mask_ids, weights = model.mask_batch(model.features(["the cat", TEXTS[0]]))
    assert weights.numpy()[0].sum() < weights.numpy()[1].sum()  # a short row has padding positions
    logits = model(inputs)
    loss = float(model.default_loss()(mask_ids, logits, sample_weight=weights))
    per_token = keras.losses.sparse_categorical_crossentropy(mask_ids, logits, from_logits=True).numpy()
    w = weights.numpy()
    expected = (per_token * w).sum() / w.sum()
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    accuracy, perplexity = model.default_metrics()
    accuracy.update_state(mask_ids, logits, sample_weight=weights)
    perplexity.update_state(mask_ids, logits, sample_weight=weights)
    correct = (np.argmax(logits.numpy(), -1) == mask_ids.numpy())
    np.testing.assert_allclose(float(accuracy.result()), (correct * w).sum() / w.sum(), rtol=1e-6)
    np.testing.assert_allclose(float(perplexity.result()), np.exp(expected), rtol=1e-4)


def test_vocabulary_without_mask_token_is_refused():
    tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "##b"], max_length=8)
    config = EncoderConfig.preset("transformer-tiny", vocabulary_size=6, max_length=8)
    with pytest.raises(ValueError, match=r"mask token '\[MASK\]' is not in the tokenizer's vocabulary"):
        MaskedLanguageModel(tokenizer, build_encoder(config))


# --- windows --------------------------------------------------------------------------------------------------

def test_window_pieces_cover_every_piece_in_order():
    pieces = tf.ragged.constant([list(range(1, 11)), [], [20, 21, 22]])
    windows = window_pieces(pieces, 4)
    assert windows.to_list() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10], [20, 21, 22]]


def test_long_document_gives_several_windows_covering_all_its_pieces(vocabulary):
    tokenizer = WordPieceTokenizer(vocabulary, max_length=16)
    long_document = " ".join(TEXTS[:9])
    pieces = tokenizer.pieces(tf.constant([long_document]))[0].numpy().tolist()
    assert len(pieces) > 3 * 14
    windows = document_windows(tokenizer, [long_document, "the cat"], batch_size=1)
    owner = windows["document"]
    expected_windows = -(-len(pieces) // 14)
    assert owner.tolist() == [0] * expected_windows + [1]
    rows = windows["token_ids"][owner == 0]
    masks = windows["padding_mask"][owner == 0].astype(bool)
    assert (rows[:, 0] == tokenizer.cls_id).all()
    covered = []
    for row, mask in zip(rows, masks):
        real = row[mask]
        assert real[-1] == tokenizer.sep_id and len(real) <= 16
        covered += real[1:-1].tolist()
    assert covered == pieces  # every piece, once, in order
    assert masks[:-1].all()  # all windows but the last are full


# --- masking --------------------------------------------------------------------------------------------------

def test_mask_statistics_on_a_large_sample(vocabulary):
    """15% of the maskable tokens chosen (ceil(0.15 n) in a row of n), of those 80% [MASK], 10% random, 10% kept; never
    [CLS], [SEP] or [PAD]. Over ~12,000 chosen tokens, a rate's standard error is under 0.4 points: the
    tolerances (2 points for 80%, 1.5 for 10%) are about 4 standard errors."""
    model = make_model(vocabulary, "transformer-tiny", max_length=64)
    rng = np.random.default_rng(0)
    words = [w for w in vocabulary[5:] if not w.startswith("##")]
    documents = [" ".join(rng.choice(words, size=rng.integers(10, 70))) for _ in range(2000)]
    windows = document_windows(model.tokenizer, documents)
    chosen = mask = random = kept = maskable = 0
    special = {model.tokenizer.cls_id, model.tokenizer.sep_id, model.tokenizer.pad_id}
    for inputs, mask_ids, weights in model.pretraining_dataset(windows, 256, seed=3):
        token_ids, positions = inputs["token_ids"].numpy(), inputs["mask_positions"].numpy()
        weights, mask_ids = weights.numpy().astype(bool), mask_ids.numpy()
        for row in range(len(token_ids)):
            selected = positions[row][weights[row]]
            originals = mask_ids[row][weights[row]]
            assert not set(originals.tolist()) & special  # never a special token
            now = token_ids[row][selected]
            n_maskable = int(inputs["padding_mask"].numpy()[row].sum()) - 2
            assert len(selected) == int(np.ceil(0.15 * n_maskable)) and len(set(selected.tolist())) == len(selected)
            maskable += n_maskable
            chosen += len(selected)
            mask += int((now == model.mask_token_id).sum())
            kept_here = (now == originals) & (now != model.mask_token_id)
            kept += int(kept_here.sum())
            random += int(((now != model.mask_token_id) & ~kept_here).sum())
    assert chosen > 10_000
    rows = len(windows["token_ids"])
    assert 0.15 <= chosen / maskable < 0.15 + rows / maskable  # ceil rounds up: under one token a row
    # A random token can be the original one (1 / V = 1/80 here): it then counts as kept.
    assert abs(mask / chosen - 0.80) < 0.02
    assert abs(random / chosen - 0.10) < 0.015
    assert abs(kept / chosen - 0.10) < 0.015


@pytest.mark.slow  # masks the data four times
def test_two_epochs_get_different_masks_and_one_seed_the_same(vocabulary):
    model = make_model(vocabulary, "transformer-tiny")
    windows = document_windows(model.tokenizer, TEXTS)

    def positions(seed):
        return np.concatenate([x["mask_positions"].numpy() for x, _, _ in
                               model.pretraining_dataset(windows, 8, seed=seed)])

    epoch_0, epoch_1, epoch_0_again = positions(0), positions(1), positions(0)
    np.testing.assert_array_equal(epoch_0, epoch_0_again)  # a resumed run rebuilds the same epoch
    assert (epoch_0 != epoch_1).mean() > 0.5  # dynamic masking: new masks each epoch
    skipped = np.concatenate([x["mask_positions"].numpy() for x, _, _ in
                              model.pretraining_dataset(windows, 8, seed=0).skip(2)])
    np.testing.assert_array_equal(skipped, epoch_0[16:])  # skipping into an epoch keeps its masks


def test_seeded_mask_generator_gives_the_same_masks_for_a_seed_on_every_trace():
    import keras_hub

    from encoders_tf.text.masking import SeededMaskGenerator

    masker = SeededMaskGenerator(vocabulary_size=100, mask_selection_rate=0.15, mask_token_id=4,
                                 mask_selection_length=4, unselectable_token_ids=[0, 2, 3])
    assert isinstance(masker, keras_hub.layers.MaskedLMMaskGenerator)
    token_ids = tf.constant(np.random.default_rng(0).integers(5, 100, size=(64, 24)), tf.int32)

    def traced(seed):
        @tf.function
        def mask(ids):
            tf.random.set_seed(seed)
            outputs = masker(ids)
            return outputs["mask_positions"], outputs["token_ids"]

        return [t.numpy() for t in mask(token_ids)]

    first = traced(5)
    for _ in range(3):  # keras-hub's own generator differs here from trace to trace (parallel map_fn draws)
        again = traced(5)
        np.testing.assert_array_equal(again[0], first[0])
        np.testing.assert_array_equal(again[1], first[1])
    assert (traced(6)[0] != first[0]).any()


def test_eager_masking_of_a_tensor_is_seeded_and_masks_every_row():
    """keras-hub masks eager tensors on a Python path that ignores the graph seed; ours stays on the TF one."""
    from encoders_tf.text.masking import SeededMaskGenerator

    masker = SeededMaskGenerator(vocabulary_size=100, mask_selection_rate=0.5, mask_token_id=4,
                                 mask_selection_length=3, unselectable_token_ids=[0, 2, 3])
    token_ids = tf.constant([[2, 10, 11, 12, 3], [2, 13, 14, 3, 0]])
    masks = []
    for _ in range(2):
        tf.random.set_seed(1)
        masks.append(masker(token_ids))
    assert masks[0]["mask_weights"].numpy().sum(axis=1).tolist() == [2, 1]  # ceil(0.5 x maskable tokens)
    np.testing.assert_array_equal(masks[0]["mask_positions"], masks[1]["mask_positions"])
