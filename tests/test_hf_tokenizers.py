"""In-graph tokenizers of imported checkpoints give the Hugging Face tokenizer's ids: WordPiece is checked on
the real MiniLM checkpoint (test_checkpoints.py); byte-level BPE (RoBERTa) and SentencePiece (T5, ALBERT) here,
with tokenizer files trained on SST-2's training split, since no such files ship in a package here."""

import csv
import json

import numpy as np
import pytest
import tensorflow as tf

from encoders_tf.checkpoints import from_hf
from tests.conftest import SHARED_DATA
from tests.hf_models import save_random_model

pytestmark = pytest.mark.slow  # parity with Hugging Face on real data

transformers = pytest.importorskip("transformers", reason="needs transformers (the dev extra)")
pytest.importorskip("torch", reason="needs torch (make installs torch==2.13.0, the CPU build)")

HOSTILE = ["", "   ", "Hello  world", "  leading", "trailing  ", "naïve café ÉLAN 😀", "a\tb\nc", "it's", "I'll",
           "``quoted''", "東京タワー", "x" * 3000]


def _sst2(name, rows=None):
    path = SHARED_DATA / "sst2" / name
    if not path.is_file():
        pytest.skip(f"needs {path}")
    with open(path, newline="") as f:
        sentences = [row[0] for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)][1:]
    return sentences[:rows]


def _write_sentencepiece(directory, family):
    import sentencepiece

    specials = dict(pad_id=0, eos_id=1, unk_id=2, bos_id=-1) if family == "t5" else \
        dict(pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"])
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(_sst2("train.tsv", 20_000)), model_prefix=str(directory / "spiece"),
        vocab_size=99, model_type="unigram", minloglevel=2, **specials)
    settings = {"tokenizer_class": "T5Tokenizer", "extra_ids": 0} if family == "t5" else \
        {"tokenizer_class": "AlbertTokenizer"}
    (directory / "tokenizer_config.json").write_text(json.dumps(settings))


def _write_byte_pair(directory):
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(_sst2("train.tsv", 20_000), vocab_size=99 + 256,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(directory))
    (directory / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "RobertaTokenizer"}))


@pytest.mark.parametrize("family", ["roberta", "t5", "albert"])
def test_imported_tokenizer_ids_equal_hugging_face(family, tmp_path):
    sentences = _sst2("dev.tsv") + HOSTILE
    if family == "roberta":
        _write_byte_pair(tmp_path)
        vocabulary_size = len(json.loads((tmp_path / "vocab.json").read_text()))
    else:
        _write_sentencepiece(tmp_path, family)
        vocabulary_size = 99
    save_random_model(family, tmp_path, vocab_size=vocabulary_size)
    reference = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    _, tokenizer = from_hf(tmp_path, max_length=512)
    outputs = tokenizer(tf.constant(sentences))
    ids, mask = outputs["token_ids"].numpy(), outputs["padding_mask"].numpy()
    mismatched = [s for i, s in enumerate(sentences)
                  if ids[i][mask[i]].tolist() != reference(s, truncation=True, max_length=512)["input_ids"]]
    assert mismatched == []
    assert np.all(ids[~mask] == tokenizer.pad_id)


@pytest.mark.parametrize("family", ["roberta", "t5"])
def test_imported_tokenizers_export_and_run_on_tf_servings_path(family, tmp_path):
    from encoders_tf.export import check_export, export_for_serving
    from encoders_tf.tasks import TextEncoder

    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    if family == "roberta":
        _write_byte_pair(checkpoint)
        vocabulary_size = len(json.loads((checkpoint / "vocab.json").read_text()))
    else:
        _write_sentencepiece(checkpoint, family)
        vocabulary_size = 99
    save_random_model(family, checkpoint, vocab_size=vocabulary_size)
    encoder, tokenizer = from_hf(checkpoint, max_length=64, pooling="mean", normalize_pooled=True)
    model = TextEncoder(tokenizer, encoder)
    path = export_for_serving(model, family, tmp_path / "saved_models")
    assert check_export(model, path) <= 1e-5  # hostile probes included: empty, emoji, 100,000 chars, bad UTF-8
