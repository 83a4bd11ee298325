"""BytePairTokenizer: raw strings -> token_ids + padding_mask with a byte-level BPE (RoBERTa), in the graph."""

import json
import pathlib

import keras
import tensorflow as tf

from encoders_tf.text.packing import PackedTokenizer, check_max_length


def _read(value, name):
    if isinstance(value, (str, pathlib.Path)) and pathlib.Path(value).is_file():
        text = pathlib.Path(value).read_text(encoding="utf-8")
        return json.loads(text) if name == "vocab.json" else [
            line for line in text.split("\n") if line and not line.startswith("#version")]
    if isinstance(value, (str, pathlib.Path)):
        raise ValueError(f"{name} file {str(value)!r} does not exist")
    return value


@keras.saving.register_keras_serializable(package="encoders_tf")
class BytePairTokenizer(PackedTokenizer):
    """Byte-level BPE as GPT-2 and RoBERTa define it, on keras-hub's in-graph implementation (TF and TF Text
    ops only), packed as <s> pieces </s>, truncated to `max_length`, padded with <pad>.

    Args:
        vocabulary: a token -> id dict, or the path of a vocab.json file.
        merges: a list of "a b" merge rules, or the path of a merges.txt file.
        max_length: most ids per row, <s> and </s> included.
        start_token, end_token, pad_token: the special tokens; each must be in the vocabulary.
        pad_to_max_length: pad every batch to `max_length`.

    Example:
    >>> vocabulary = {"<s>": 0, "<pad>": 1, "</s>": 2, "a": 3, "Ġ": 4, "s": 5, "e": 6, "Ġs": 7, "Ġse": 8, "Ġsea": 9}
    >>> tokenizer = BytePairTokenizer(vocabulary, ["Ġ s", "Ġs e", "Ġse a"], max_length=8)  # or their files
    >>> tokenizer(tf.constant(["a sea"]))["token_ids"]  # <s> a Ġsea </s>
    <tf.Tensor: shape=(1, 4), dtype=int32, numpy=array([[0, 3, 9, 2]], dtype=int32)>
    """

    def __init__(self, vocabulary, merges, max_length=128, start_token="<s>", end_token="</s>",
                 pad_token="<pad>", pad_to_max_length=False, **kwargs):
        import keras_hub

        super().__init__(**kwargs)
        self.vocabulary = {str(k): int(v) for k, v in _read(vocabulary, "vocab.json").items()}
        self.merges = list(_read(merges, "merges.txt"))
        check_max_length(max_length, 2)
        self.max_length = max_length
        self.start_token, self.end_token, self.pad_token = start_token, end_token, pad_token
        self.pad_to_max_length = pad_to_max_length
        for role, token in (("start_token", start_token), ("end_token", end_token), ("pad_token", pad_token)):
            if token not in self.vocabulary:
                raise ValueError(f"{role} {token!r} is not in the vocabulary of {len(self.vocabulary)} tokens")
        self.start_id, self.end_id, self.pad_id = (self.vocabulary[t] for t in (start_token, end_token, pad_token))
        self.vocabulary_size = len(self.vocabulary)
        self._bpe = keras_hub.tokenizers.BytePairTokenizer(vocabulary=self.vocabulary, merges=self.merges,
                                                           dtype="int32")
        # Traced, keras-hub's tokenizer returns a RaggedTensor (called eagerly it would return Python lists).
        self._tokenize = tf.function(self._bpe.tokenize, input_signature=[tf.TensorSpec([None], tf.string)])
        self.built = True

    @property
    def separator_ids(self):
        """RoBERTa's separator between the texts of a pair: </s></s>."""
        return [self.end_id, self.end_id]

    def pieces(self, text):
        return self._tokenize(text)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary=self.vocabulary, merges=self.merges, max_length=self.max_length,
                      start_token=self.start_token, end_token=self.end_token, pad_token=self.pad_token,
                      pad_to_max_length=self.pad_to_max_length)
        return config
