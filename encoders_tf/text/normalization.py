"""The text normalization WordPiece applies before splitting, shared by the tokenizer and the vocabulary
trainer so both see the same words."""

import tensorflow as tf
import tensorflow_text as tf_text


class BertNormalizer:
    """Lower-casing and accent stripping as configured, with TF Text ops only (FastBertNormalize,
    CaseFoldUTF8, NormalizeUTF8) and core regex ops.

    FastBertNormalize always cleans control characters (to spaces; some invisible format characters, such
    as zero-width spaces, are dropped when it also lower-cases). Lower-casing with accent stripping is that
    one op (BERT's lower-case, NFD, drop combining marks); lower-casing alone adds Unicode case folding
    (NFKC_Casefold); accent stripping alone adds NFD, then drops the combining marks (\\p{Mn}).

    Args:
        lowercase: lower-case the text.
        strip_accents: remove accents.

    Example:
    >>> BertNormalizer(lowercase=True, strip_accents=True)(tf.constant(["Café AU\\tLAIT"]))
    <tf.Tensor: shape=(1,), dtype=string, numpy=array([b'cafe au lait'], dtype=object)>
    """

    def __init__(self, lowercase=True, strip_accents=True):
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        # The op builds its character tables in Python, once per normalizer.
        self._fast = tf_text.FastBertNormalizer(lower_case_nfd_strip_accents=lowercase and strip_accents)

    def __call__(self, text):
        """text: tf.string of any shape, valid UTF-8 -> tf.string, same shape."""
        text = self._fast.normalize(text)
        if self.lowercase and not self.strip_accents:
            text = tf_text.case_fold_utf8(text)
        elif self.strip_accents and not self.lowercase:
            text = tf.strings.regex_replace(tf_text.normalize_utf8(text, "NFD"), r"\p{Mn}", "")
        return text
