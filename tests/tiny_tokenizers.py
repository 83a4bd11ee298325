"""Small tokenizers of every family, built in memory from a few sentences, for tests of inputs and pairs.

Build a SentencePiece tokenizer inside each test, not in a module-scoped fixture: TF Text's SentencePiece
resource belongs to an eager kernel, and the autouse seeding (tf.random.set_seed) clears those kernels.
"""

import functools
import io
import json

from encoders_tf.text import SPECIAL_TOKENS, BytePairTokenizer, SentencePieceTokenizer, WordPieceTokenizer

FAMILIES = ("bert", "albert", "t5", "roberta")
VOCAB = list(SPECIAL_TOKENS) + ["the", "film", "was", "great", "##ly", "good", "!", ",", "cafe", "a", "plot",
                                "dull", "lovely"]
ID = {token: index for index, token in enumerate(VOCAB)}
CORPUS = ["the film was great", "a dull plot, a lovely cast!", "Naïve café owners love films", "the plot was dull",
          "what a lovely day", "good acting and a great story", "it was okay, I guess"] * 30


@functools.lru_cache(maxsize=None)
def sentencepiece_model():
    """A unigram SentencePiece model holding T5's specials (<pad> 0, </s> 1, <unk> 2) and ALBERT's ([CLS], [SEP])."""
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS), model_writer=model, vocab_size=48, model_type="unigram", pad_id=0,
        eos_id=1, unk_id=2, bos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"], minloglevel=2,
        num_threads=1)
    return model.getvalue()


@functools.lru_cache(maxsize=None)
def byte_pair_files():
    """(vocabulary dict, merges list) of a byte-level BPE with RoBERTa's specials."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=256 + 40, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                            show_progress=False)
    merges = json.loads(bpe.to_str())["model"]["merges"]
    return bpe.get_vocab(), [" ".join(merge) if isinstance(merge, list) else merge for merge in merges]


def tokenizer(family, max_length=32, **kwargs):
    """A tokenizer of `family` ("bert", "albert", "t5", "roberta") with that family's special tokens."""
    if family == "bert":
        return WordPieceTokenizer(VOCAB, max_length=max_length, **kwargs)
    if family == "albert":
        return SentencePieceTokenizer(sentencepiece_model(), max_length=max_length, lowercase=True,
                                      strip_accents=True, start_token="[CLS]", end_token="[SEP]", pad_token="<pad>",
                                      **kwargs)
    if family == "t5":
        return SentencePieceTokenizer(sentencepiece_model(), max_length=max_length, end_token="</s>",
                                      pad_token="<pad>", **kwargs)
    if family == "roberta":
        vocabulary, merges = byte_pair_files()
        return BytePairTokenizer(vocabulary, merges, max_length=max_length, **kwargs)
    raise ValueError(f"unknown family {family!r}; accepted: {', '.join(FAMILIES)}")
