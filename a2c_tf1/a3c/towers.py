"""Seed 003's separate actor and critic networks, each trained by its own optimizer."""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from gymnasium import spaces

from a2c_tf1.layers import conv, conv_to_fc, fc, sample_gumbel_max

tf1 = tf.compat.v1


def seed003_trunk(X: tf.Tensor, rng: np.random.RandomState) -> tf.Tensor:
    """uint8 ``[B, 84, 84, C]`` -> conv 32 8x8/4 -> conv 64 4x4/2 -> dense 512, ReLU: ``[B, 512]``
    (seed 003 left out the Nature CNN's third conv)."""
    h = conv(tf.cast(X, tf.float32) / 255.0, "c1", nf=32, rf=8, stride=4, rng=rng, init_scale=np.sqrt(2))
    h = conv(h, "c2", nf=64, rf=4, stride=2, rng=rng, init_scale=np.sqrt(2))
    return fc(conv_to_fc(h), "fc1", nh=512, rng=rng, init_scale=np.sqrt(2))


class TwoTowerPolicy:
    """Actor ``model/actor/{c1,c2,fc1,pi}`` and critic ``model/critic/{c1,c2,fc1,v}``, no shared weights.

    Same tensors as the A2C's policies: ``X`` uint8 ``[nenv*nsteps, 84, 84, nstack]``, logits ``pi``
    ``[nbatch, nact]``, values ``vf`` ``[nbatch, 1]``, ``v0`` ``[nbatch]``, sampled actions ``a0``.
    ``towers`` names the two variable groups, each with its own optimizer in A3C.
    """

    recurrent = False
    towers = ("actor", "critic")

    def __init__(self, ob_space: spaces.Box, ac_space: spaces.Discrete, nenv: int, nsteps: int,
                 nstack: int, reuse: bool = False, rng: np.random.RandomState | None = None,
                 pi_init_scale: float = 1.0):
        if len(ob_space.shape) != 3:
            raise ValueError(f"the two-tower policy needs image observations, got shape {ob_space.shape}")
        shape = (nenv * nsteps,) + tuple(ob_space.shape[:-1]) + (ob_space.shape[-1] * nstack,)
        self.X = tf1.placeholder(tf.uint8, shape, name="X")
        rng = rng if rng is not None else np.random.RandomState(0)
        with tf1.variable_scope("model", reuse=reuse):
            with tf1.variable_scope("actor"):
                self.pi = fc(seed003_trunk(self.X, rng), "pi", ac_space.n, rng, init_scale=pi_init_scale, act=None)
            with tf1.variable_scope("critic"):
                self.vf = fc(seed003_trunk(self.X, rng), "v", 1, rng, act=None)
        self.v0 = self.vf[:, 0]
        self.a0 = sample_gumbel_max(self.pi)
