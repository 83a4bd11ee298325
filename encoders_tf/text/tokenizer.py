"""WordPieceTokenizer: raw UTF-8 strings -> token_ids + padding_mask, inside the graph (TF Text ops only)."""

import collections

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from encoders_tf.text.normalization import BertNormalizer
from encoders_tf.text.packing import PackedTokenizer, check_max_length
from encoders_tf.text.vocabulary import load_vocabulary


@keras.saving.register_keras_serializable(package="encoders_tf")
class WordPieceTokenizer(PackedTokenizer):
    """Tokenizes text in the graph, so a model that holds it (and its SavedModel) takes raw strings.

    Invalid UTF-8 is replaced (never raised); text is lower-cased and accent-stripped as configured, split on
    whitespace and punctuation and cut into WordPiece tokens by TF Text's fast ops (FastBertNormalize,
    FastWordpieceTokenizeWithOffsets: in TF Serving's op set). Each row is [CLS] pieces... [SEP], truncated
    to `max_length` ids, padded with [PAD] to the longest row of the batch (or to `max_length`).

    Args:
        vocabulary: a list of tokens, or the path of a vocab.txt file.
        max_length: most ids per row, [CLS] and [SEP] included.
        lowercase: lower-case the text.
        strip_accents: remove accents (NFD, then drop combining marks).
        pad_to_max_length: pad every batch to `max_length` instead of its longest row.
        unknown_token, cls_token, sep_token, pad_token: the special tokens; each must be in the vocabulary.

    Example:
    >>> tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "##s"], max_length=8)
    >>> tokenizer(tf.constant(["Goods!"]))["token_ids"]
    <tf.Tensor: shape=(1, 5), dtype=int32, numpy=array([[2, 4, 5, 1, 3]], dtype=int32)>
    """

    def __init__(self, vocabulary, max_length=128, lowercase=True, strip_accents=True, pad_to_max_length=False,
                 unknown_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", **kwargs):
        super().__init__(**kwargs)
        if isinstance(vocabulary, str) or hasattr(vocabulary, "__fspath__"):
            vocabulary = load_vocabulary(vocabulary)
        self.vocabulary = [str(token) for token in vocabulary]
        duplicates = sorted(token for token, count in collections.Counter(self.vocabulary).items() if count > 1)
        if duplicates:
            raise ValueError(f"the vocabulary holds duplicate tokens {duplicates[:10]}; each token must appear once")
        check_max_length(max_length, 2)
        self.max_length = max_length
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.pad_to_max_length = pad_to_max_length
        self.unknown_token, self.cls_token, self.sep_token, self.pad_token = (
            unknown_token, cls_token, sep_token, pad_token)
        index = {token: i for i, token in enumerate(self.vocabulary)}
        for role, token in (("unknown_token", unknown_token), ("cls_token", cls_token),
                            ("sep_token", sep_token), ("pad_token", pad_token)):
            if token not in index:
                raise ValueError(f"{role} {token!r} is not in the vocabulary of {len(self.vocabulary)} tokens "
                                 f"(first tokens: {self.vocabulary[:5]}); pass a vocabulary that holds it, or "
                                 f"name the vocabulary's own token with {role}=")
        self.unk_id, self.cls_id, self.sep_id, self.pad_id = (
            index[unknown_token], index[cls_token], index[sep_token], index[pad_token])
        self.start_id, self.end_id = self.cls_id, self.sep_id
        # Both TF Text objects build their model buffers in Python here, once per layer; the graph holds them
        # as constants.
        self._normalize = BertNormalizer(lowercase, strip_accents)
        try:
            self._wordpiece = tf_text.FastWordpieceTokenizer(
                self.vocabulary, suffix_indicator="##", unknown_token=unknown_token, no_pretokenization=False,
                support_detokenization=False, token_out_type=tf.int32)
        except RuntimeError as error:  # e.g. a token holding a NUL character
            raise ValueError(f"TF Text cannot build a WordPiece model from this vocabulary of "
                             f"{len(self.vocabulary)} tokens: {error}") from error
        self.built = True

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def get_vocabulary(self):
        return list(self.vocabulary)

    def pieces(self, text):
        # With its own pre-tokenization on, the tokenizer gives the pieces of each string: ragged [B, (pieces)].
        return self._wordpiece.tokenize(self._normalize(text))

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary=self.get_vocabulary(),
            max_length=self.max_length,
            lowercase=self.lowercase,
            strip_accents=self.strip_accents,
            pad_to_max_length=self.pad_to_max_length,
            unknown_token=self.unknown_token,
            cls_token=self.cls_token,
            sep_token=self.sep_token,
            pad_token=self.pad_token,
        )
        return config
