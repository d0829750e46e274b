"""Policy networks. One object builds one model; the step model (nenv x 1) and the train model
(nenv x nsteps) are two objects over the same variables, made with ``variable_scope("model", reuse=...)``.

A policy is built inside the Agent's graph and exposes tensors only (``X``, ``pi``, ``vf``, ``v0``, ``a0``);
the Agent owns the session and runs them.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from gymnasium import spaces

from a2c_tf1.config import POLICY_NAMES
from a2c_tf1.layers import batch_to_seq, conv, conv_to_fc, fc, lstm, sample_gumbel_max, seq_to_batch

tf1 = tf.compat.v1


def nature_cnn(X: tf.Tensor, rng: np.random.RandomState) -> tf.Tensor:
    """Nature DQN trunk: uint8 ``[B, 84, 84, C]`` -> ``[B, 512]`` (variables c1, c2, c3, fc1)."""
    h = conv(tf.cast(X, tf.float32) / 255.0, "c1", nf=32, rf=8, stride=4, rng=rng, init_scale=np.sqrt(2))
    h2 = conv(h, "c2", nf=64, rf=4, stride=2, rng=rng, init_scale=np.sqrt(2))
    h3 = conv(h2, "c3", nf=64, rf=3, stride=1, rng=rng, init_scale=np.sqrt(2))
    return fc(conv_to_fc(h3), "fc1", nh=512, rng=rng, init_scale=np.sqrt(2))


def dqn2013_cnn(X: tf.Tensor, rng: np.random.RandomState) -> tf.Tensor:
    """The 2013 DQN trunk (Mnih et al. 2013), the A3C paper's feed-forward net: uint8 ``[B, 84, 84, C]``
    -> conv 16 8x8/4 -> conv 32 4x4/2 -> ``[B, 256]`` (variables c1, c2, fc1)."""
    h = conv(tf.cast(X, tf.float32) / 255.0, "c1", nf=16, rf=8, stride=4, rng=rng, init_scale=np.sqrt(2))
    h2 = conv(h, "c2", nf=32, rf=4, stride=2, rng=rng, init_scale=np.sqrt(2))
    return fc(conv_to_fc(h2), "fc1", nh=256, rng=rng, init_scale=np.sqrt(2))


def mlp_trunk(X: tf.Tensor, rng: np.random.RandomState) -> tf.Tensor:
    """baselines' MLP trunk: ``[B, ...]`` float -> ``[B, 64]`` through two tanh layers (fc1, fc2)."""
    flat = tf.reshape(X, [int(X.shape[0]), int(np.prod([int(d) for d in X.shape[1:]]))])
    h1 = fc(flat, "fc1", 64, rng, init_scale=np.sqrt(2), act=tf.tanh)
    return fc(h1, "fc2", 64, rng, init_scale=np.sqrt(2), act=tf.tanh)


def elu_cnn_42(X: tf.Tensor, rng: np.random.RandomState) -> tf.Tensor:
    """Seed 002's trunk: uint8 ``[B, 42, 42, C]`` -> three 32-filter 3x3 stride-2 ELU convs -> dense 256 ReLU."""
    h = tf.cast(X, tf.float32) / 255.0
    for name in ("c1", "c2", "c3"):
        h = conv(h, name, nf=32, rf=3, stride=2, rng=rng, init_scale=np.sqrt(2), act=tf.nn.elu)
    return fc(conv_to_fc(h), "fc1", nh=256, rng=rng, init_scale=np.sqrt(2))


def _observation_placeholder(ob_space: spaces.Box, nbatch: int, nstack: int) -> tf.Tensor:
    """``[nbatch, *frame[:-1], frame[-1]*nstack]``: uint8 for images, float32 for vectors."""
    shape = (nbatch,) + tuple(ob_space.shape[:-1]) + (ob_space.shape[-1] * nstack,)
    dtype = tf.uint8 if len(ob_space.shape) == 3 else tf.float32
    return tf1.placeholder(dtype, shape, name="X")


class _FeedForwardPolicy:
    """Shared head of the feed-forward policies: logits ``pi`` [nbatch, nact], values ``vf`` [nbatch, 1]."""

    recurrent = False

    def _build_heads(self, latent: tf.Tensor, nact: int, rng: np.random.RandomState,
                     pi_init_scale: float = 1.0) -> None:
        # baselines (2017) gave both heads fc's default init_scale of 1.0; its 2018 code started the policy
        # head at 0.01, so the first policy is almost uniform.
        self.pi = fc(latent, "pi", nact, rng, init_scale=pi_init_scale, act=None)
        self.vf = fc(latent, "v", 1, rng, act=None)
        self.v0 = self.vf[:, 0]
        self.a0 = sample_gumbel_max(self.pi)


class CnnPolicy(_FeedForwardPolicy):
    """Nature DQN CNN (Mnih et al. 2015) with policy and value heads.

    ``X`` is uint8 ``[nenv*nsteps, 84, 84, nstack]``; variables are created in the order
    ``model/c1/w, c1/b, c2/w, c2/b, c3/w, c3/b, fc1/w, fc1/b, pi/w, pi/b, v/w, v/b``, the order of the
    seed's checkpoints.
    """

    trunk = staticmethod(nature_cnn)

    def __init__(self, ob_space: spaces.Box, ac_space: spaces.Discrete, nenv: int, nsteps: int,
                 nstack: int, reuse: bool = False, rng: np.random.RandomState | None = None,
                 pi_init_scale: float = 1.0):
        self.X = _observation_placeholder(ob_space, nenv * nsteps, nstack)
        rng = rng if rng is not None else np.random.RandomState(0)
        with tf1.variable_scope("model", reuse=reuse):
            self._build_heads(self.trunk(self.X, rng), ac_space.n, rng, pi_init_scale)


class Cnn2013Policy(CnnPolicy):
    """The A3C paper's feed-forward net (the 2013 DQN's, as PFRL's A3CFF): :func:`dqn2013_cnn` -> heads.

    Variables ``model/c1/w, c1/b, c2/w, c2/b, fc1/w, fc1/b, pi/w, pi/b, v/w, v/b`` (10 arrays).
    """

    trunk = staticmethod(dqn2013_cnn)


class MlpPolicy(_FeedForwardPolicy):
    """Two tanh layers of 64 units (baselines' MLP), for low-dimensional observations like CartPole.

    ``X`` is float32 ``[nenv*nsteps, *ob_shape]`` with the ``nstack`` frames concatenated on the last axis.
    """

    def __init__(self, ob_space: spaces.Box, ac_space: spaces.Discrete, nenv: int, nsteps: int,
                 nstack: int, reuse: bool = False, rng: np.random.RandomState | None = None,
                 pi_init_scale: float = 1.0):
        self.X = _observation_placeholder(ob_space, nenv * nsteps, nstack)
        rng = rng if rng is not None else np.random.RandomState(0)
        with tf1.variable_scope("model", reuse=reuse):
            self._build_heads(mlp_trunk(self.X, rng), ac_space.n, rng, pi_init_scale)


class LstmPolicy(_FeedForwardPolicy):
    """baselines' LstmPolicy: trunk -> LSTM(256) -> heads, unrolled over the model's ``nsteps``.

    The trunk is the Nature CNN for image observations and the 2 x 64 tanh MLP otherwise. Placeholders:
    ``X`` observations ``[nenv*nsteps, ...]`` (env-major), ``M`` masks ``[nenv*nsteps]`` (1 where the
    previous step ended an episode), ``S`` the state ``[nenv, 2*nlstm]`` at the first of the nsteps.
    ``snew`` is the state after the last step.
    """

    recurrent = True
    layer_norm = False
    trunk = None  # None: Nature CNN for images, MLP for vectors

    def __init__(self, ob_space: spaces.Box, ac_space: spaces.Discrete, nenv: int, nsteps: int,
                 nstack: int, reuse: bool = False, rng: np.random.RandomState | None = None, nlstm: int = 256,
                 pi_init_scale: float = 1.0):
        nbatch = nenv * nsteps
        self.X = _observation_placeholder(ob_space, nbatch, nstack)
        self.M = tf1.placeholder(tf.float32, [nbatch], name="M")
        self.S = tf1.placeholder(tf.float32, [nenv, 2 * nlstm], name="S")
        rng = rng if rng is not None else np.random.RandomState(0)
        with tf1.variable_scope("model", reuse=reuse):
            trunk = self.trunk or (nature_cnn if len(ob_space.shape) == 3 else mlp_trunk)
            latent = trunk(self.X, rng)
            xs = batch_to_seq(latent, nenv, nsteps)
            ms = batch_to_seq(self.M, nenv, nsteps, flat=True)
            outputs, self.snew = lstm(xs, ms, self.S, "lstm1", nlstm, rng, layer_norm=self.layer_norm)
            self._build_heads(seq_to_batch(outputs), ac_space.n, rng, pi_init_scale)
        self.initial_state = np.zeros((nenv, 2 * nlstm), dtype=np.float32)


class LnLstmPolicy(LstmPolicy):
    """LstmPolicy with baselines' layer-normalised LSTM (``lnlstm``)."""

    layer_norm = True


class SmallLstmPolicy(LstmPolicy):
    """Seed 002's recurrent net for 42x42 frames: :func:`elu_cnn_42` -> LSTM(256) -> heads."""

    trunk = staticmethod(elu_cnn_42)


POLICIES = dict(zip(POLICY_NAMES, (CnnPolicy, Cnn2013Policy, MlpPolicy, LstmPolicy, LnLstmPolicy, SmallLstmPolicy),
                    strict=True))
