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


# ---- recurrent pieces (baselines' a2c/utils.py of 2017) ----------------------------------------------
def batch_to_seq(h: tf.Tensor, nenv: int, nsteps: int, flat: bool = False) -> list:
    """Env-major ``[nenv*nsteps, ...]`` -> list of ``nsteps`` tensors ``[nenv, ...]`` (time-major)."""
    h = tf.reshape(h, [nenv, nsteps] if flat else [nenv, nsteps, -1])
    return [tf.squeeze(v, [1]) for v in tf.split(h, nsteps, axis=1)]


def seq_to_batch(h: list, flat: bool = False) -> tf.Tensor:
    """Inverse of :func:`batch_to_seq`: ``nsteps`` x ``[nenv, nh]`` -> ``[nenv*nsteps, nh]`` env-major."""
    if flat:
        return tf.reshape(tf.stack(h, axis=1), [-1])
    return tf.reshape(tf.stack(h, axis=1), [-1, int(h[0].shape[-1])])


def _layer_norm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor, eps: float = 1e-5) -> tf.Tensor:
    """``(x - mean) / sqrt(var + eps) * gain + bias`` over axis 1 of ``[B, n]``.

    Written without ``tf.nn.moments``: TensorFlow's oneDNN rewrite fuses that pattern into a layer-norm
    kernel whose results differ from this formula (by up to 0.2 in an LSTM state, measured).
    """
    centered = x - tf.reduce_mean(x, axis=1, keepdims=True)
    variance = tf.reduce_mean(tf.square(centered), axis=1, keepdims=True)
    return centered / tf.sqrt(variance + eps) * gain + bias


def lstm(xs: list, ms: list, s: tf.Tensor, scope: str, nh: int, rng: np.random.RandomState,
         init_scale: float = 1.0, layer_norm: bool = False) -> tuple[list, tf.Tensor]:
    """Unrolled LSTM (optionally layer-normalised, Ba et al. 2016) over ``len(xs)`` steps.

    Args:
        xs: ``T`` inputs ``[nenv, nin]``.
        ms: ``T`` masks ``[nenv]``; 1 where the previous step ended an episode, so the state is zeroed
            before this step's input is read.
        s: state ``[nenv, 2*nh]``, cell then hidden.
        layer_norm: normalise the input and recurrent projections and the cell (baselines' ``lnlstm``).

    Returns:
        (``T`` outputs ``[nenv, nh]``, final state ``[nenv, 2*nh]``).
    """
    nin = int(xs[0].shape[1])
    with tf1.variable_scope(scope):
        wx = tf1.get_variable("wx", [nin, nh * 4], initializer=tf1.constant_initializer(orthogonal((nin, nh * 4), init_scale, rng)))
        if layer_norm:
            gx = tf1.get_variable("gx", [nh * 4], initializer=tf1.constant_initializer(1.0))
            bx = tf1.get_variable("bx", [nh * 4], initializer=tf1.constant_initializer(0.0))
        wh = tf1.get_variable("wh", [nh, nh * 4], initializer=tf1.constant_initializer(orthogonal((nh, nh * 4), init_scale, rng)))
        if layer_norm:
            gh = tf1.get_variable("gh", [nh * 4], initializer=tf1.constant_initializer(1.0))
            bh = tf1.get_variable("bh", [nh * 4], initializer=tf1.constant_initializer(0.0))
        b = tf1.get_variable("b", [nh * 4], initializer=tf1.constant_initializer(0.0))
        if layer_norm:
            gc = tf1.get_variable("gc", [nh], initializer=tf1.constant_initializer(1.0))
            bc = tf1.get_variable("bc", [nh], initializer=tf1.constant_initializer(0.0))
    c, h = tf.split(s, 2, axis=1)
    outputs = []
    for x, m in zip(xs, ms):
        keep = 1.0 - tf.expand_dims(m, 1)
        c, h = c * keep, h * keep
        if layer_norm:
            z = _layer_norm(tf.matmul(x, wx), gx, bx) + _layer_norm(tf.matmul(h, wh), gh, bh) + b
        else:
            z = tf.matmul(x, wx) + tf.matmul(h, wh) + b
        i, f, o, u = tf.split(z, 4, axis=1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(u)
        h = tf.sigmoid(o) * tf.tanh(_layer_norm(c, gc, bc) if layer_norm else c)
        outputs.append(h)
    return outputs, tf.concat([c, h], axis=1)
