"""The tokenizer of a Hugging Face checkpoint, as an in-graph layer."""

import json
import pathlib

from encoders_tf.checkpoints.hf_config import UnsupportedCheckpoint
from encoders_tf.checkpoints.hf_weights import CheckpointError


def tokenizer_from_hf(directory, max_length):
    """A WordPieceTokenizer from vocab.txt and tokenizer_config.json (lower-casing, accents), named "tokenizer".

    Raises:
        CheckpointError when the directory has no tokenizer files; UnsupportedCheckpoint for a tokenizer
        kind not implemented in the graph yet (byte-level BPE, SentencePiece).
    """
    from encoders_tf.text import WordPieceTokenizer, load_vocabulary

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
            unknown_token=settings.get("unk_token", "[UNK]"), cls_token=settings.get("cls_token", "[CLS]"),
            sep_token=settings.get("sep_token", "[SEP]"), pad_token=settings.get("pad_token", "[PAD]"),
            name="tokenizer")
    for files, kind in ((("vocab.json", "merges.txt"), "byte-level BPE"), (("spiece.model",), "SentencePiece")):
        if all((directory / f).is_file() for f in files):
            raise UnsupportedCheckpoint(f"{directory}: a {kind} tokenizer ({', '.join(files)}); encoders_tf "
                                        f"imports the weights (load_hf_encoder) but not yet this tokenizer")
    raise CheckpointError(f"{directory}: no tokenizer files (expected vocab.txt for WordPiece, "
                          f"vocab.json + merges.txt for byte-level BPE, or spiece.model for SentencePiece)")
