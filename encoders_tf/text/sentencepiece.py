"""SentencePieceTokenizer: raw strings -> token_ids + padding_mask with a SentencePiece model, in the graph."""

import base64
import pathlib

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from encoders_tf.text.packing import PackedTokenizer, check_max_length


@keras.saving.register_keras_serializable(package="encoders_tf")
class SentencePieceTokenizer(PackedTokenizer):
    """Tokenizes text with a SentencePiece model (T5, ALBERT) through TF Text's SentencepieceOp.

    Invalid UTF-8 is replaced, never raised. Optional ALBERT-style preprocessing before the model's own
    normalization: `` and '' become ", accents are stripped (NFKD, combining marks dropped), text is
    lower-cased. Rows are [start] pieces [end], truncated to `max_length`, padded with the pad id.

    Args:
        model: the serialized model (bytes) or the path of a spiece.model file.
        max_length: most ids per row, special tokens included.
        lowercase: lower-case before the model (ALBERT).
        strip_accents: strip accents before the model (ALBERT: keep_accents=False).
        start_token: token opening each row ("[CLS]" for ALBERT), or None (T5).
        end_token: token closing each row ("</s>" for T5, "[SEP]" for ALBERT).
        pad_token: the padding token.
        pad_to_max_length: pad every batch to `max_length`.

    Example:
    >>> import io, sentencepiece
    >>> spiece = io.BytesIO()  # a tiny T5-style model (<pad> 0, </s> 1, <unk> 2), as a spiece.model file holds
    >>> sentencepiece.SentencePieceTrainer.train(
    ...     sentence_iterator=iter(["a lovely film", "a dull film"]), model_writer=spiece, vocab_size=20,
    ...     hard_vocab_limit=False, pad_id=0, eos_id=1, unk_id=2, bos_id=-1, minloglevel=2)
    >>> tokenizer = SentencePieceTokenizer(spiece.getvalue(), max_length=8)  # or "spiece.model"
    >>> tokenizer(tf.constant(["a film"]))["token_ids"]  # ▁ a ▁film </s>
    <tf.Tensor: shape=(1, 4), dtype=int32, numpy=array([[4, 5, 6, 1]], dtype=int32)>
    """

    def __init__(self, model, max_length=128, lowercase=False, strip_accents=False, start_token=None,
                 end_token="</s>", pad_token="<pad>", pad_to_max_length=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(model, str) and model.startswith("base64:"):
            model = base64.b64decode(model[len("base64:"):])
        elif not isinstance(model, bytes):
            path = pathlib.Path(model)
            if not path.is_file():
                raise ValueError(f"SentencePiece model file {str(path)!r} does not exist (expected spiece.model)")
            model = path.read_bytes()
        self.model = model
        check_max_length(max_length, 1 if start_token is None else 2)
        self.max_length = max_length
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.start_token, self.end_token, self.pad_token = start_token, end_token, pad_token
        self.pad_to_max_length = pad_to_max_length
        self._sentencepiece = tf_text.SentencepieceTokenizer(model=model, out_type=tf.int32)
        self.vocabulary_size = int(self._sentencepiece.vocab_size())
        unknown = int(self._sentencepiece.string_to_id("<unk>"))
        ids = {}
        for role, token in (("start_token", start_token), ("end_token", end_token), ("pad_token", pad_token)):
            if token is None:
                continue
            ids[role] = int(self._sentencepiece.string_to_id(token))
            if ids[role] == unknown and token != "<unk>":
                raise ValueError(f"{role} {token!r} is not a piece of the SentencePiece model")
        self.start_id, self.end_id, self.pad_id = ids.get("start_token"), ids["end_token"], ids["pad_token"]
        self.built = True

    def pieces(self, text):
        if self.lowercase or self.strip_accents:
            text = tf.strings.regex_replace(text, "``|''", '"')
        if self.strip_accents:
            text = tf.strings.regex_replace(tf_text.normalize_utf8(text, "NFKD"), r"\p{Mn}", "")
        if self.lowercase:
            text = tf_text.case_fold_utf8(text)
        if tf.executing_eagerly():
            try:
                return self._sentencepiece.tokenize(text)
            except tf.errors.NotFoundError:  # tf.random.set_seed cleared the kernel that held the model: anew
                self._sentencepiece = tf_text.SentencepieceTokenizer(model=self.model, out_type=tf.int32)
        return self._sentencepiece.tokenize(text)

    def get_config(self):
        config = super().get_config()
        config.update(model="base64:" + base64.b64encode(self.model).decode("ascii"), max_length=self.max_length,
                      lowercase=self.lowercase, strip_accents=self.strip_accents, start_token=self.start_token,
                      end_token=self.end_token, pad_token=self.pad_token,
                      pad_to_max_length=self.pad_to_max_length)
        return config
