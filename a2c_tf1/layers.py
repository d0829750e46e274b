"""Layers written with raw ``tf.compat.v1`` variables and ``tf.nn`` ops, as baselines' a2c/utils.py was.

Every initializer draws from an explicit ``numpy.random.RandomState`` so that building the same graph
with the same seed gives the same weights, without touching numpy's global generator.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1


def orthogonal(shape: tuple[int, ...], scale: float, rng: np.random.RandomState) -> np.ndarray:
    """Orthogonal matrix of ``shape`` times ``scale`` (Saxe et al. 2013), baselines' ``ortho_init``.

    Conv kernels ``[kh, kw, cin, cout]`` are made orthogonal as a ``[kh*kw*cin, cout]`` matrix.
    """
    if len(shape) == 2:
        flat_shape = shape
    elif len(shape) == 4:
        flat_shape = (int(np.prod(shape[:-1])), shape[-1])
    else:
        raise ValueError(f"orthogonal init needs a 2-D or 4-D shape, got {shape}")
    gaussian = rng.normal(0.0, 1.0, flat_shape)
    u, _, v = np.linalg.svd(gaussian, full_matrices=False)
    q = u if u.shape == flat_shape else v
    return (scale * q.reshape(shape)).astype(np.float32)


def _weights(shape: tuple[int, ...], scale: float, rng: np.random.RandomState) -> tf.Variable:
    return tf1.get_variable("w", shape, initializer=tf1.constant_initializer(orthogonal(shape, scale, rng)))


def _bias(size: int, value: float = 0.0) -> tf.Variable:
    return tf1.get_variable("b", [size], initializer=tf1.constant_initializer(value))


def conv(x: tf.Tensor, scope: str, nf: int, rf: int, stride: int, rng: np.random.RandomState,
         init_scale: float = 1.0, act: Callable = tf.nn.relu, pad: str = "VALID") -> tf.Tensor:
    """2-D convolution, NHWC: ``[B, H, W, C] -> [B, H', W', nf]`` with variables ``scope/w``, ``scope/b``."""
    with tf1.variable_scope(scope):
        nin = int(x.shape[3])
        w = _weights((rf, rf, nin, nf), init_scale, rng)
        b = _bias(nf)
        return act(tf.nn.conv2d(x, w, strides=[1, stride, stride, 1], padding=pad) + b)


def fc(x: tf.Tensor, scope: str, nh: int, rng: np.random.RandomState, init_scale: float = 1.0,
       act: Optional[Callable] = tf.nn.relu, init_bias: float = 0.0) -> tf.Tensor:
    """Fully connected layer ``[B, nin] -> [B, nh]`` with variables ``scope/w``, ``scope/b``."""
    with tf1.variable_scope(scope):
        nin = int(x.shape[1])
        w = _weights((nin, nh), init_scale, rng)
        b = _bias(nh, init_bias)
        z = tf.matmul(x, w) + b
        return z if act is None else act(z)


def conv_to_fc(x: tf.Tensor) -> tf.Tensor:
    """Flatten ``[B, H, W, C] -> [B, H*W*C]`` keeping the static size (3136 for the Nature CNN)."""
    size = int(np.prod([int(d) for d in x.shape[1:]]))
    return tf.reshape(x, [-1, size])


def cat_entropy(logits: tf.Tensor) -> tf.Tensor:
    """Entropy of a categorical distribution from its logits, ``[B, nact] -> [B]``.

    The max is subtracted before ``exp`` so logits of any size (e.g. +-1e4) give finite results;
    ``log p = a - log z`` is used instead of ``log(softmax)`` so a zero probability gives no NaN.
    """
    a0 = logits - tf.reduce_max(logits, axis=1, keepdims=True)
    ea0 = tf.exp(a0)
    z0 = tf.reduce_sum(ea0, axis=1, keepdims=True)
    p0 = ea0 / z0
    return tf.reduce_sum(p0 * (tf.math.log(z0) - a0), axis=1)


def sample_gumbel_max(logits: tf.Tensor, seed: Optional[int] = None) -> tf.Tensor:
    """One action per row, ``[B, nact] -> [B]`` int32, by Gumbel-max: argmax(logits - log(-log u)).

    This is how baselines sampled; it is exact for a categorical distribution.
    """
    noise = tf1.random_uniform(tf.shape(logits), minval=np.finfo(np.float32).tiny, maxval=1.0, seed=seed)
    return tf.argmax(logits - tf.math.log(-tf.math.log(noise)), axis=1, output_type=tf.int32)
