"""Policy networks. One object builds one model; the step model (nenv x 1) and the train model
(nenv x nsteps) are two objects over the same variables, made with ``variable_scope("model", reuse=...)``.

A policy is built inside the Agent's graph and exposes tensors only (``X``, ``pi``, ``vf``, ``v0``, ``a0``);
the Agent owns the session and runs them.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from gymnasium import spaces

from a2c_tf1.layers import conv, conv_to_fc, fc, sample_gumbel_max

tf1 = tf.compat.v1


class _FeedForwardPolicy:
    """Shared head of the feed-forward policies: logits ``pi`` [nbatch, nact], values ``vf`` [nbatch, 1]."""

    recurrent = False

    def _build_heads(self, latent: tf.Tensor, nact: int, rng: np.random.RandomState) -> None:
        # baselines (2017) gave both heads fc's default init_scale of 1.0.
        self.pi = fc(latent, "pi", nact, rng, act=None)
        self.vf = fc(latent, "v", 1, rng, act=None)
        self.v0 = self.vf[:, 0]
        self.a0 = sample_gumbel_max(self.pi)


class CnnPolicy(_FeedForwardPolicy):
    """Nature DQN CNN (Mnih et al. 2015) with policy and value heads.

    ``X`` is uint8 ``[nenv*nsteps, 84, 84, nstack]``; variables are created in the order
    ``model/c1/w, c1/b, c2/w, c2/b, c3/w, c3/b, fc1/w, fc1/b, pi/w, pi/b, v/w, v/b``, the order of the
    seed's checkpoints.
    """

    def __init__(self, ob_space: spaces.Box, ac_space: spaces.Discrete, nenv: int, nsteps: int,
                 nstack: int, reuse: bool = False, rng: np.random.RandomState | None = None):
        nbatch = nenv * nsteps
        nh, nw, nc = ob_space.shape
        self.X = tf1.placeholder(tf.uint8, (nbatch, nh, nw, nc * nstack), name="X")
        rng = rng if rng is not None else np.random.RandomState(0)
        with tf1.variable_scope("model", reuse=reuse):
            h = conv(tf.cast(self.X, tf.float32) / 255.0, "c1", nf=32, rf=8, stride=4, rng=rng, init_scale=np.sqrt(2))
            h2 = conv(h, "c2", nf=64, rf=4, stride=2, rng=rng, init_scale=np.sqrt(2))
            h3 = conv(h2, "c3", nf=64, rf=3, stride=1, rng=rng, init_scale=np.sqrt(2))
            h4 = fc(conv_to_fc(h3), "fc1", nh=512, rng=rng, init_scale=np.sqrt(2))
            self._build_heads(h4, ac_space.n, rng)


class MlpPolicy(_FeedForwardPolicy):
    """Two tanh layers of 64 units (baselines' MLP), for low-dimensional observations like CartPole.

    ``X`` is float32 ``[nenv*nsteps, *ob_shape]`` with the ``nstack`` frames concatenated on the last axis.
    """

    def __init__(self, ob_space: spaces.Box, ac_space: spaces.Discrete, nenv: int, nsteps: int,
                 nstack: int, reuse: bool = False, rng: np.random.RandomState | None = None):
        nbatch = nenv * nsteps
        ob_shape = tuple(ob_space.shape[:-1]) + (ob_space.shape[-1] * nstack,)
        self.X = tf1.placeholder(tf.float32, (nbatch,) + ob_shape, name="X")
        rng = rng if rng is not None else np.random.RandomState(0)
        with tf1.variable_scope("model", reuse=reuse):
            flat = tf.reshape(self.X, [nbatch, int(np.prod(ob_shape))])
            h1 = fc(flat, "fc1", 64, rng, init_scale=np.sqrt(2), act=tf.tanh)
            h2 = fc(h1, "fc2", 64, rng, init_scale=np.sqrt(2), act=tf.tanh)
            self._build_heads(h2, ac_space.n, rng)


POLICIES = {"cnn": CnnPolicy, "mlp": MlpPolicy}
