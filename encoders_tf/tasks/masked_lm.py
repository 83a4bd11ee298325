"""MaskedLanguageModel: tokenizer -> encoder -> masked-LM head tied to the token embedding (BERT's pretraining)."""

import math

import keras
import keras_hub
import tensorflow as tf

from encoders_tf.layers.masked_lm_head import MaskedLMHead
from encoders_tf.tasks.task import Task
from encoders_tf.text.masking import SeededMaskGenerator

ENCODER_INPUTS = ("token_ids", "padding_mask", "segment_ids")


@keras.saving.register_keras_serializable(package="encoders_tf")
class MaskedLanguageModel(Task):
    """Predicts masked tokens from their context: BERT's masked-LM pretraining, for any encoder.

    `call` takes the encoder's inputs plus `mask_positions` int [B, P] and returns logits [B, P, V] at those
    positions (the head: gather, dense, GELU, LayerNorm, decoder tied to `encoder.token_embedding`, output
    bias). The masking is keras-hub's `MaskedLMMaskGenerator` (TF Text's BERT masking), through
    `SeededMaskGenerator`, which makes its choice reproducible for a seed: in each row, ceil(
    `mask_selection_rate` x its maskable tokens) tokens are chosen (never [CLS], [SEP] or [PAD]); of those, `mask_token_rate` become [MASK], `random_token_rate` a random token of the vocabulary, the rest
    stay. It runs in the tf.data pipeline (`mask_batch`, `pretraining_dataset`), so every epoch draws new
    masks. P, `mask_selection_length`, defaults to ceil(rate x max_length): every chosen token fits, and
    the positions past a row's choices are padding with weight 0.

    Training targets are (mask_ids int32 [B, P], mask_weights float32 [B, P]) as Keras' (y, sample_weight):
    the loss (`default_loss`) and the metrics (`default_metrics`, compiled as `weighted_metrics`) count
    only real masked tokens. Perplexity is keras-hub's `Perplexity`: exp(sum of the masked tokens' cross
    entropy / their number) over everything the metric saw, i.e. exp(mean masked loss) token-weighted over
    the whole evaluation, which `val_loss` (a mean of per-batch means) is not.

    The head is rebuilt from the encoder on load (it holds no copy of the embedding), so a `.keras` file
    holds the [V, E] embedding once, and the tokenizer and encoder of a pretraining run are what a
    fine-tuning run takes (`model.tokenizer`, `model.encoder`).

    Args:
        tokenizer: an in-graph tokenizer whose vocabulary holds `mask_token`.
        encoder: an encoder of the contract exposing `token_embedding` (TransformerEncoder, LSTMEncoder).
        mask_selection_rate: share of each row's maskable tokens chosen for prediction.
        mask_token_rate: share of the chosen tokens replaced by `mask_token`.
        random_token_rate: share of the chosen tokens replaced by a random token (the rest stay).
        mask_selection_length: P, predictions per row (default ceil(mask_selection_rate x max_length)).
        mask_token: the mask token of the vocabulary.
        layer_norm_epsilon: the head's LayerNorm epsilon.

    Example:
    >>> from encoders_tf import EncoderConfig, build_encoder
    >>> from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
    >>> vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
    >>> tokenizer = WordPieceTokenizer(vocabulary, max_length=16)
    >>> config = EncoderConfig.preset("transformer-tiny", vocabulary_size=len(vocabulary), max_length=16)
    >>> encoder = build_encoder(config)
    >>> model = MaskedLanguageModel(tokenizer, encoder)
    >>> texts = tf.data.Dataset.from_tensors(["a lovely film", "a dull film"])
    >>> inputs, mask_ids, mask_weights = next(iter(model.tokenize_dataset(texts)))
    >>> tuple(model(inputs).shape)  # [B, P, V]: P = ceil(0.15 x max_length 16)
    (2, 3, 54)
    """

    def __init__(self, tokenizer, encoder, mask_selection_rate=0.15, mask_token_rate=0.8, random_token_rate=0.1,
                 mask_selection_length=None, mask_token="[MASK]", layer_norm_epsilon=1e-12, **kwargs):
        super().__init__(tokenizer, encoder, **kwargs)
        for name, rate in (("mask_selection_rate", mask_selection_rate), ("mask_token_rate", mask_token_rate),
                           ("random_token_rate", random_token_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {rate!r}")
        if mask_selection_rate == 0.0 or mask_token_rate + random_token_rate > 1.0:
            raise ValueError(f"need 0 < mask_selection_rate and mask_token_rate + random_token_rate <= 1, got "
                             f"{mask_selection_rate}, {mask_token_rate} + {random_token_rate}")
        self.mask_selection_rate = mask_selection_rate
        self.mask_token_rate = mask_token_rate
        self.random_token_rate = random_token_rate
        self.mask_selection_length = int(mask_selection_length or math.ceil(mask_selection_rate *
                                                                            tokenizer.max_length))
        self.mask_token = mask_token
        self.mask_token_id = token_id(tokenizer, mask_token)
        self.layer_norm_epsilon = layer_norm_epsilon
        vocabulary_size = encoder.token_embedding.input_dim
        unselectable = [i for i in (tokenizer.start_id, tokenizer.end_id, tokenizer.pad_id) if i is not None]
        self.masker = SeededMaskGenerator(
            vocabulary_size=vocabulary_size, mask_selection_rate=mask_selection_rate,
            mask_token_id=self.mask_token_id, mask_selection_length=self.mask_selection_length,
            unselectable_token_ids=unselectable, mask_token_rate=mask_token_rate,
            random_token_rate=random_token_rate, name="masker", dtype="float32")
        # float32 under mixed precision: the softmax over the vocabulary needs the range.
        self.head = MaskedLMHead(encoder.token_embedding, layer_norm_epsilon=layer_norm_epsilon, name="head",
                                 dtype="float32")

    def build_head(self):
        if not self.head.built:
            self.head.build((None, None, self.encoder.output_size), (None, None))

    def call(self, inputs, training=False):
        encoder_inputs = {name: inputs[name] for name in ENCODER_INPUTS if name in inputs}
        sequence = self.encoder(encoder_inputs, training=training)["sequence_output"]  # [B, T, H]
        return self.head(sequence, inputs["mask_positions"])  # [B, P, V]

    def mask_batch(self, features):
        """Masks a batch of encoder inputs (a graph function, for a tf.data map).

        Args:
            features: {"token_ids" int [B, T], "padding_mask" [B, T]} (and optional "segment_ids").

        Returns:
            (inputs, mask_ids int32 [B, P], mask_weights float32 [B, P]): inputs are the features with the
            masked token_ids, the padding mask as int32, and "mask_positions" int32 [B, P].
        """
        masked = self.masker(tf.cast(features["token_ids"], tf.int32))
        inputs = {**features, "token_ids": tf.cast(masked["token_ids"], tf.int32),
                  "padding_mask": tf.cast(features["padding_mask"], tf.int32),
                  "mask_positions": tf.cast(masked["mask_positions"], tf.int32)}
        return inputs, tf.cast(masked["mask_ids"], tf.int32), tf.cast(masked["mask_weights"], tf.float32)

    def tokenize_dataset(self, dataset, seed=0):
        """Batches of raw text (or (text, anything)) -> masked (inputs, mask_ids, mask_weights) batches; texts
        are truncated to max_length as elsewhere (pretraining cuts documents into windows instead: see
        `pretraining_dataset`). The masks are drawn from `seed`, in order."""
        def tokenize(text, *_):
            tf.random.set_seed(seed)  # this map function's graph seed: fixed masks for a seed
            return self.mask_batch(self.features(text))

        # Not parallel: the masks' random ops run in order, deterministically. Plain graph code: AutoGraph's
        # conversion (seconds, for the masking ops) is not needed.
        return dataset.map(tf.autograph.experimental.do_not_convert(tokenize))

    def pretraining_dataset(self, windows, batch_size, *, seed=0, shuffle=False):
        """Masked batches of packed windows: the pretraining (or held-out) data of one epoch.

        The masks (and the order, when shuffled) are a function of `seed`: give each epoch its own seed
        (e.g. `seed + epoch`) for dynamic masking, the held-out data one fixed seed so that its numbers
        compare across epochs. The same seed gives the same batches, also when skipping into the epoch
        (which an exact resume does).

        Args:
            windows: {"token_ids", "padding_mask"} int [W, T] (`encoders_tf.text.windows.document_windows`).
            batch_size: rows per batch (the last batch may be smaller).
            seed: the masks' and the order's seed.
            shuffle: shuffle the rows.

        Returns:
            a tf.data.Dataset of (inputs, mask_ids, mask_weights) batches.

        Example:
        >>> from encoders_tf import EncoderConfig, build_encoder
        >>> from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary
        >>> vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=60)
        >>> tokenizer = WordPieceTokenizer(vocabulary, max_length=16)
        >>> config = EncoderConfig.preset("transformer-tiny", vocabulary_size=len(vocabulary), max_length=16)
        >>> encoder = build_encoder(config)
        >>> from encoders_tf.text.windows import document_windows
        >>> model = MaskedLanguageModel(tokenizer, encoder)
        >>> windows = document_windows(tokenizer, ["a lovely film", "a dull film"])
        >>> seed = 0
        >>> train = lambda epoch: model.pretraining_dataset(windows, 32, seed=seed + epoch, shuffle=True)
        >>> inputs, mask_ids, mask_weights = next(iter(train(0)))
        >>> tuple(inputs["token_ids"].shape), tuple(mask_ids.shape), mask_weights.numpy().tolist()
        ((2, 16), (2, 3), [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
        """
        rows = {name: windows[name] for name in ("token_ids", "padding_mask")}
        dataset = tf.data.Dataset.from_tensor_slices(rows)
        if shuffle:
            dataset = dataset.shuffle(len(rows["token_ids"]), seed=seed, reshuffle_each_iteration=False)

        def mask(features):
            tf.random.set_seed(seed)  # sets this map function's graph seed: masks fixed by `seed`
            return self.mask_batch(features)

        # Not parallel: the masking's random ops then run batch after batch, the same for the same seed. Plain
        # graph code: AutoGraph's conversion (seconds, for the masking ops) is not needed.
        mask = tf.autograph.experimental.do_not_convert(mask)
        return dataset.batch(batch_size).map(mask).prefetch(tf.data.AUTOTUNE)

    def default_loss(self):
        """Cross-entropy from logits, averaged over the masked tokens (weights: mask_weights)."""
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")

    def default_metrics(self):
        """Masked-token accuracy and perplexity; compile them as `weighted_metrics`, so that Keras passes
        mask_weights and only real masked tokens count."""
        return [keras.metrics.SparseCategoricalAccuracy(name="masked_accuracy"),
                keras_hub.metrics.Perplexity(from_logits=True, name="perplexity")]

    def get_config(self):
        config = super().get_config()
        config.update(mask_selection_rate=self.mask_selection_rate, mask_token_rate=self.mask_token_rate,
                      random_token_rate=self.random_token_rate, mask_selection_length=self.mask_selection_length,
                      mask_token=self.mask_token, layer_norm_epsilon=self.layer_norm_epsilon)
        return config


def token_id(tokenizer, token):
    """The id of `token` in a tokenizer's vocabulary (a list, `get_vocabulary()`, or a token -> id dict)."""
    vocabulary = tokenizer.get_vocabulary() if hasattr(tokenizer, "get_vocabulary") else getattr(
        tokenizer, "vocabulary", None)
    if isinstance(vocabulary, dict):
        index = vocabulary
    elif vocabulary is not None:
        index = {piece: i for i, piece in enumerate(vocabulary)}
    else:
        raise ValueError(f"{type(tokenizer).__name__} exposes no vocabulary to find the mask token {token!r} in; "
                         f"accepted: a tokenizer with get_vocabulary() (e.g. WordPieceTokenizer)")
    if token not in index:
        raise ValueError(f"the mask token {token!r} is not in the tokenizer's vocabulary of {len(index)} tokens; "
                         f"train the vocabulary with it reserved (train_wordpiece_vocabulary reserves [MASK]) or "
                         f"name the vocabulary's own mask token with mask_token=")
    return index[token]
