"""SeededMaskGenerator: keras-hub's BERT masking, with a token choice that a seed fixes."""

import keras
import keras_hub
import tensorflow as tf
import tensorflow_text as tf_text


@keras.saving.register_keras_serializable(package="encoders_tf")
class SeededMaskGenerator(keras_hub.layers.MaskedLMMaskGenerator):
    """keras-hub's `MaskedLMMaskGenerator` whose masks are the same for the same graph seed, every time.

    The generator's TF Text selector shuffles each row's candidate positions with a stateful
    `tf.random.shuffle` inside a `map_fn` over the rows, whose iterations run in parallel: which row gets
    which draw then depends on thread timing, so the same seed gives different masks from run to run (and
    a resumed run could not rebuild an epoch). Here each call draws one random key per token first, outside
    the loop, and a row's shuffle is the order of its positions' keys: the same draws, in the same order,
    whatever the timing. Everything else (how many tokens a row gets, [MASK] / random / kept, the outputs)
    is keras-hub's.

    Args:
        the same as `keras_hub.layers.MaskedLMMaskGenerator`.

    Example:
    >>> masker = SeededMaskGenerator(vocabulary_size=100, mask_selection_rate=0.15, mask_token_id=4,
    ...                              mask_selection_length=3, unselectable_token_ids=[0, 2, 3])
    >>> token_ids = tf.constant([[2, 10, 11, 12, 13, 14, 15, 3], [2, 16, 17, 3, 0, 0, 0, 0]])
    >>> def mask(token_ids):
    ...     tf.random.set_seed(7)  # this function's graph seed
    ...     return masker(token_ids)["mask_positions"]
    >>> first, again = tf.function(mask)(token_ids), tf.function(mask)(token_ids)  # traced twice
    >>> first.numpy().tolist(), bool(tf.reduce_all(first == again))  # the same masks
    ([[1, 0, 0], [1, 0, 0]], True)
    """

    _keys = None  # float32 [tokens of the batch being masked]: each token's shuffle key, set while masking

    def __init__(self, *args, **kwargs):
        # keras-hub masks eager tensors on a pure-Python path (its own `random`, no graph seed, rows may get
        # no mask at all); the TF path is the seeded one, eager or traced.
        kwargs.setdefault("_allow_python_workflow", False)
        super().__init__(*args, **kwargs)

    def _maybe_initialize_tf(self):
        if self._random_selector is not None:
            return
        super()._maybe_initialize_tf()
        self._random_selector = tf_text.RandomItemSelector(
            max_selections_per_batch=self._random_selector.max_selections_per_batch,
            selection_rate=self.mask_selection_rate, unselectable_ids=self.unselectable_token_ids,
            shuffle_fn=self._shuffle)

    def _shuffle(self, positions):
        """A row's positions (indices into the batch's tokens) in the order of their keys."""
        return tf.gather(positions, tf.argsort(tf.gather(self._keys, positions)))

    def call(self, inputs):
        if not isinstance(inputs, (tf.Tensor, tf.RaggedTensor)):
            return super().call(inputs)  # lists and NumPy: keras-hub's Python path, its own randomness
        tokens = tf.size(inputs.flat_values if isinstance(inputs, tf.RaggedTensor) else inputs)
        self._keys = tf.random.uniform([tokens])  # one stateful draw a call: the same for the same seed
        try:
            return super().call(inputs)
        finally:
            self._keys = None
