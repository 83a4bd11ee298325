"""NumPy implementations of the encoder equations, for comparing the Keras layers against."""

import math

import numpy as np

_erf = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def relu(x):
    return np.maximum(x, 0.0)


def layer_norm(x, gamma, beta, epsilon):
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def attention(x, mask, wq, bq, wk, bk, wv, bv, wo, bo):
    """x [B, T, H]; w* [H, heads, d]; wo [heads, d, H]; mask [B, T] -> [B, T, H], one head at a time."""
    heads, d = wq.shape[1], wq.shape[2]
    outputs = np.zeros_like(x)
    for h in range(heads):
        q = x @ wq[:, h] + bq[h]
        k = x @ wk[:, h] + bk[h]
        v = x @ wv[:, h] + bv[h]
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)  # [B, T, T]
        scores = np.where(mask[:, None, :], scores, -1e9)
        outputs += (softmax(scores) @ v) @ wo[h]
    return outputs + bo


def feed_forward(x, w1, b1, w2, b2, activation=gelu):
    return activation(x @ w1 + b1) @ w2 + b2
