"""The tokenizer of a Hugging Face checkpoint, as an in-graph layer."""

import json
import pathlib

from encoders_tf.checkpoints.hf_config import UnsupportedCheckpoint
from encoders_tf.checkpoints.hf_weights import CheckpointError


def _token(settings, key, default):
    """A special token from tokenizer_config.json, written as a string or as {"content": ...}."""
    value = settings.get(key, default)
    return value.get("content", default) if isinstance(value, dict) else value


def tokenizer_from_hf(directory, max_length, model_type="bert"):
    """The checkpoint's tokenizer as an in-graph layer named "tokenizer", with the family's special tokens.

    vocab.txt -> WordPieceTokenizer (lower-casing and accents from tokenizer_config.json);
    vocab.json + merges.txt -> BytePairTokenizer (<s> ... </s>);
    spiece.model -> SentencePieceTokenizer (T5: pieces </s>; ALBERT: [CLS] pieces [SEP], lower-cased,
    accents stripped unless keep_accents).

    Raises:
        CheckpointError when the directory has no tokenizer files.
    """
    from encoders_tf.text import BytePairTokenizer, SentencePieceTokenizer, WordPieceTokenizer, load_vocabulary

    directory = pathlib.Path(directory)
    settings = {}
    if (directory / "tokenizer_config.json").is_file():
        settings = json.loads((directory / "tokenizer_config.json").read_text())
    if (directory / "vocab.txt").is_file():
        lowercase = settings.get("do_lower_case", True)
        strip_accents = settings.get("strip_accents")
        return WordPieceTokenizer(
            load_vocabulary(directory / "vocab.txt"), max_length=max_length, lowercase=lowercase,
            strip_accents=lowercase if strip_accents is None else strip_accents,
            unknown_token=_token(settings, "unk_token", "[UNK]"), cls_token=_token(settings, "cls_token", "[CLS]"),
            sep_token=_token(settings, "sep_token", "[SEP]"), pad_token=_token(settings, "pad_token", "[PAD]"),
            name="tokenizer")
    if (directory / "vocab.json").is_file() and (directory / "merges.txt").is_file():
        return BytePairTokenizer(directory / "vocab.json", directory / "merges.txt", max_length=max_length,
                                 start_token=_token(settings, "bos_token", "<s>"),
                                 end_token=_token(settings, "eos_token", "</s>"),
                                 pad_token=_token(settings, "pad_token", "<pad>"), name="tokenizer")
    if (directory / "spiece.model").is_file():
        if model_type == "albert":
            lowercase = settings.get("do_lower_case", True)
            return SentencePieceTokenizer(
                directory / "spiece.model", max_length=max_length, lowercase=lowercase,
                strip_accents=not settings.get("keep_accents", False), start_token="[CLS]", end_token="[SEP]",
                pad_token="<pad>", name="tokenizer")
        if model_type != "t5":
            raise UnsupportedCheckpoint(f"{directory}: a SentencePiece tokenizer for model_type {model_type!r}; "
                                        f"accepted: albert, t5")
        return SentencePieceTokenizer(directory / "spiece.model", max_length=max_length, end_token="</s>",
                                      pad_token="<pad>", name="tokenizer")
    raise CheckpointError(f"{directory}: no tokenizer files (expected vocab.txt for WordPiece, "
                          f"vocab.json + merges.txt for byte-level BPE, or spiece.model for SentencePiece)")
