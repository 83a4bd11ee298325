"""What a tokenizer layer takes as text: Python strings, lists, NumPy arrays or tf.string tensors, checked and
turned into a tf.string tensor before Keras sees them."""

import keras
import numpy as np
import tensorflow as tf

ACCEPTED = ("a str or bytes, a list or tuple of them (or of one-item lists: [B, 1]), a NumPy array of "
            "str/bytes/object dtype, or a tf.string tensor, of shape [], [B] or [B, 1]")


def _describe(value):
    if value is None:
        return "None"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} item{'' if len(value) == 1 else 's'}"
    kind = ("a NumPy array" if isinstance(value, np.ndarray) else "a symbolic Keras tensor"
            if isinstance(value, keras.KerasTensor) else "a tensor" if tf.is_tensor(value) else None)
    if kind:
        dtype = value.dtype.name if isinstance(value.dtype, (np.dtype, tf.DType)) else value.dtype
        return f"{kind} of shape {tuple(value.shape)} and dtype {dtype}"
    return f"{type(value).__name__} {value!r:.60}"


def _encoded(item):
    # Lone surrogates become invalid UTF-8 bytes, which the tokenizer replaces: text never raises.
    return item.encode("utf-8", "surrogatepass") if isinstance(item, str) else bytes(item)


def _rows(items, name):
    """A list of str/bytes ([B]) or of one-item lists of them ([B, 1]) -> a list of bytes, and the rank."""
    depth1 = [isinstance(item, (str, bytes)) for item in items]
    if all(depth1):
        return [_encoded(item) for item in items], 1
    nested = [isinstance(item, (list, tuple, np.ndarray)) for item in items]
    for index, item in enumerate(items):
        if not (depth1[index] or nested[index]):
            raise TypeError(f"{name} is not text: item {index} is {_describe(item)}; accepted: {ACCEPTED}")
    if any(depth1):
        first_text, first_list = depth1.index(True), nested.index(True)
        raise ValueError(f"{name} mixes strings and lists (item {first_text} is a string, item {first_list} is "
                         f"{_describe(items[first_list])}); accepted: {ACCEPTED}")
    for index, item in enumerate(items):
        item = list(np.asarray(item, dtype=object).reshape(-1)) if isinstance(item, np.ndarray) else item
        if len(item) != 1 or not isinstance(item[0], (str, bytes)):
            raise ValueError(f"{name} holds lists, so each must be a [text] row of one string; item {index} is "
                             f"{_describe(item)}; accepted: {ACCEPTED}")
    return [_encoded(item[0]) for item in items], 2


def _check_rank(shape, value, name):
    rank = shape.rank
    if rank is None:
        raise ValueError(f"{name} has an unknown rank: got {_describe(value)}; accepted: {ACCEPTED}")
    if rank > 2 or (rank == 2 and shape[1] not in (1, None)):
        raise ValueError(f"{name} has a shape a tokenizer cannot take: got {_describe(value)}; accepted: {ACCEPTED}")


def text_tensor(value, name="text"):
    """`value` as tf.string of shape [], [B] or [B, 1]; symbolic Keras inputs come back unchanged, checked.

    Args:
        value: text as a tokenizer takes it: a str or bytes, a list or tuple of them (or of one-item lists),
            a NumPy array of str, bytes or object dtype, a tf.string tensor, or a string keras.Input.
        name: what the value is, for error messages ("text", "text_pair").

    Returns:
        a tf.string tensor (or the KerasTensor given), rank 0, 1 or 2 (then [B, 1]).

    Raises:
        TypeError: not text (None, numbers, a tensor of another dtype, a list holding non-strings).
        ValueError: text of a shape a tokenizer cannot take (nested lists of different depths, rank 3, [B, 2]).

    Example:
    >>> text_tensor(["a lovely film", b"dull"])
    <tf.Tensor: shape=(2,), dtype=string, numpy=array([b'a lovely film', b'dull'], dtype=object)>
    """
    if isinstance(value, keras.KerasTensor) or tf.is_tensor(value):
        if isinstance(value, tf.RaggedTensor) or isinstance(value, tf.SparseTensor):
            raise TypeError(f"{name} is a {type(value).__name__}; accepted: {ACCEPTED} (dense)")
        if keras.backend.standardize_dtype(value.dtype) != "string":
            raise TypeError(f"{name} is not text: got {_describe(value)}; accepted: {ACCEPTED}")
        _check_rank(tf.TensorShape(value.shape), value, name)
        return value
    if isinstance(value, (str, bytes)):
        return tf.constant(_encoded(value), dtype=tf.string)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "USO":
            raise TypeError(f"{name} is not text: got {_describe(value)}; accepted: {ACCEPTED}")
        _check_rank(tf.TensorShape(value.shape), value, name)
        if value.ndim == 0:
            return text_tensor(value.item(), name)
        items = [row[0] if value.ndim == 2 else row for row in value.tolist()]
        rows, _ = _rows(items, name)  # checks object arrays hold only strings
        return tf.constant(rows, dtype=tf.string, shape=value.shape)
    if isinstance(value, (list, tuple)):
        rows, rank = _rows(list(value), name)
        return tf.constant(rows, dtype=tf.string, shape=[len(rows)] + [1] * (rank - 1))
    raise TypeError(f"{name} is not text: got {_describe(value)}; accepted: {ACCEPTED}")
