"""The A3C graph: one global network, local networks that copy it, and the ops between them.

Variables: ``global/model/...`` (the weights actors learn into, in the A2C's names and order under
``model/``), ``global/global_step`` and ``global/episodes`` (int64 counters), ``global/ready`` (set once
the weights are restored or freshly made; never saved), the optimizer slots beside the global weights,
and ``worker_<i>/model/...`` for worker i's local copy. Placement is the caller's:
``global_device`` and ``worker_device`` are None for threads in one process, and a
``replica_device_setter`` and ``/job:worker/task:<i>`` on a cluster.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf
from gymnasium import spaces

from a2c_tf1.a3c.config import A3CConfig
from a2c_tf1.a3c.towers import TwoTowerPolicy
from a2c_tf1.layers import cat_entropy
from a2c_tf1.policies import POLICIES

tf1 = tf.compat.v1
tf1.disable_eager_execution()

GLOBAL_SCOPE = "global"


def policy_class(name: str):
    """The policy class for ``--policy name`` (the A2C's policies plus ``two-tower``)."""
    return TwoTowerPolicy if name == "two-tower" else POLICIES[name]


def normc(shape: tuple, std: float, rng: np.random.RandomState) -> np.ndarray:
    """Gaussian matrix whose columns have norm ``std`` (universe-starter-agent's and seed 004's head init)."""
    out = rng.standard_normal(shape).astype(np.float32)
    return out * (std / np.sqrt(np.square(out).sum(axis=0, keepdims=True)))


def _strip(name: str, scope: str) -> str:
    return name[len(scope) + 1:] if name.startswith(scope + "/") else name


def _make_optimizer(config: A3CConfig, lr: tf.Tensor, name: str):
    if config.optimizer == "adam":
        return tf1.train.AdamOptimizer(learning_rate=lr, name=name)
    return tf1.train.RMSPropOptimizer(learning_rate=lr, decay=config.alpha, epsilon=config.epsilon, name=name)


class GlobalNetwork:
    """The shared weights, the step and episode counters, and the optimizers that update them.

    Args:
        policy_cls: a policy class (``CnnPolicy``, ``MlpPolicy``, ``LstmPolicy``, ``TwoTowerPolicy``, ...).
        ob_space: one frame; ``config.nstack`` frames go on the last axis.
        ac_space: ``Discrete(nact)``.
        config: a resolved :class:`A3CConfig` (optimizer, nstack).
        rng: draws the initial weights.
        device: where the variables live (None: the default device).

    Call :meth:`finish` after every :class:`LocalNetwork` is built (the optimizers make their slots then).
    """

    def __init__(self, policy_cls, ob_space: spaces.Box, ac_space: spaces.Discrete, config: A3CConfig,
                 rng: np.random.RandomState, device=None):
        self.device = device
        self.policy_cls = policy_cls
        with tf1.device(device), tf1.variable_scope(GLOBAL_SCOPE):
            self.model = policy_cls(ob_space, ac_space, 1, 1, config.nstack, reuse=False, rng=rng)
            self.step = tf1.get_variable("global_step", [], tf.int64, tf1.zeros_initializer(), trainable=False)
            self.episodes = tf1.get_variable("episodes", [], tf.int64, tf1.zeros_initializer(), trainable=False)
            # On a cluster, "initialised" is not "ready": the chief initialises, then restores the checkpoint
            # in several session calls. Workers (and a restarted chief) trust the variables only once this is set.
            self.ready = tf1.get_variable("ready", [], tf.bool, tf1.constant_initializer(False), trainable=False)
            self.LR = tf1.placeholder(tf.float32, [], name="LR")
        self.params = tf1.trainable_variables(GLOBAL_SCOPE + "/")
        self.param_names = [_strip(v.op.name, GLOBAL_SCOPE) for v in self.params]
        towers = getattr(policy_cls, "towers", None)
        if towers:  # one optimizer per tower, as seed 003
            self.groups = [[i for i, n in enumerate(self.param_names) if n.startswith(f"model/{t}/")] for t in towers]
            names = [f"Adam_{t}" if config.optimizer == "adam" else f"RMSProp_{t}" for t in towers]
        else:
            self.groups = [list(range(len(self.params)))]
            names = ["Adam" if config.optimizer == "adam" else "RMSProp"]
        with tf1.device(device):
            self.optimizers = [_make_optimizer(config, self.LR, name) for name in names]
        self.state_variables: list[tuple[str, tf.Variable]] = []

    def finish(self) -> None:
        """Collect the optimizer variables and build the assign ops used to load checkpoints."""
        slots = []
        for optimizer, group in zip(self.optimizers, self.groups):
            for i in group:
                for slot_name in sorted(optimizer.get_slot_names()):
                    slots.append((f"{self.param_names[i]}/{slot_name}", optimizer.get_slot(self.params[i], slot_name)))
            known = {id(v) for _, v in slots}
            slots += [(_strip(v.op.name, GLOBAL_SCOPE), v) for v in optimizer.variables() if id(v) not in known]
        self.state_variables = slots + [("global_step", self.step), ("episodes", self.episodes)]
        targets = list(self.params) + [v for _, v in self.state_variables]
        with tf1.device(self.device):
            self._inputs = [tf1.placeholder(v.dtype.base_dtype, v.shape) for v in targets]
            self._assigns = [v.assign(p) for v, p in zip(targets, self._inputs)]
            self._mark_ready = self.ready.assign(True)
        self.variables = targets + [self.ready]
        self.initializer = tf1.variables_initializer(self.variables)

    # ---- reading and writing the weights (checkpoints, head init) --------------------------------
    def get_state(self, sess) -> dict:
        """Optimizer slots, ``global_step`` and ``episodes`` by name."""
        return self.snapshot(sess)[1]

    def snapshot(self, sess) -> tuple[list[np.ndarray], dict]:
        """The weights (in ``params`` order) and :meth:`get_state`, read in one session call, so they belong
        to one moment as far as the runtime allows: updates that other workers apply meanwhile are not
        paused (A3C never pauses them), so a variable may be read just before or just after an update."""
        names = [n for n, _ in self.state_variables]
        params, state = sess.run([self.params, [v for _, v in self.state_variables]])
        return params, dict(zip(names, state))

    def is_ready(self, sess) -> bool:
        return bool(sess.run(self.ready))

    def mark_ready(self, sess) -> None:
        sess.run(self._mark_ready)

    def assign(self, sess, arrays: dict) -> None:
        """Write ``arrays`` (weight or state-variable name -> array) into the variables they name."""
        names = self.param_names + [n for n, _ in self.state_variables]
        index = {n: i for i, n in enumerate(names)}
        sess.run([self._assigns[index[n]] for n in arrays], {self._inputs[index[n]]: a for n, a in arrays.items()})

    def head_names(self) -> tuple[str, str]:
        """Weights of the policy and value heads."""
        if getattr(self.policy_cls, "towers", None):
            return "model/actor/pi/w", "model/critic/v/w"
        return "model/pi/w", "model/v/w"

    def normc_heads(self, rng: np.random.RandomState) -> dict:
        """Normalised-column head weights (0.01 policy, 1.0 value), for ``head_init="normc"``."""
        shapes = dict(zip(self.param_names, [tuple(v.shape.as_list()) for v in self.params]))
        pi, v = self.head_names()
        return {pi: normc(shapes[pi], 0.01, rng), v: normc(shapes[v], 1.0, rng)}


NONFINITE_UPDATE = "a3c: non-finite update refused"  # the check's message, how a worker recognises it


def _guard_finite(grads: list, loss: tf.Tensor, grad_norm: tf.Tensor) -> list:
    """``grads`` passed through only once ``loss`` and ``grad_norm`` (scalars) are finite.

    Clipping does not help against a NaN: a NaN norm makes every clipped gradient NaN, and one NaN
    update poisons the global weights for every worker. An op that applies these tensors fails with
    ``InvalidArgumentError`` (message :data:`NONFINITE_UPDATE`) before it writes any variable.
    """
    checks = [tf.debugging.check_numerics(loss, NONFINITE_UPDATE + " (loss)"),
              tf.debugging.check_numerics(grad_norm, NONFINITE_UPDATE + " (gradient norm)")]
    # identity rather than control dependencies around apply_gradients: the optimizers create their
    # slots there, and an initializer must not depend on a rollout's feed.
    with tf.control_dependencies(checks):
        return [tf.identity(g) for g in grads]


class LocalNetwork:
    """Worker ``index``'s copy of the network, its loss over one rollout, and the ops that tie it to the global one.

    The train model takes a rollout padded to ``t_max`` steps: ``X`` ``[t_max, ...]``, actions ``A``,
    advantages ``ADV``, value targets ``R`` and step weights ``W`` (1 for real steps, 0 for padding), all
    ``[t_max]``. The loss sums over the rollout, as the A3C paper accumulated its gradients:
    ``-sum(W * ADV * log pi(A)) + vf_coef * 0.5 * sum(W * (R - V)^2) - ent_coef * sum(W * H(pi))``.

    Ops: ``sync`` (local <- global), ``train`` (apply the clipped gradients of the local loss to the
    global weights with the shared optimizers, then add ``NSTEPS`` and ``NEPISODES`` to the counters).
    An update whose loss or gradient norm is NaN or infinite fails before it writes any global variable
    (``InvalidArgumentError`` with :data:`NONFINITE_UPDATE`), so the global weights stay finite.
    """

    def __init__(self, index: int, glob: GlobalNetwork, ob_space: spaces.Box, ac_space: spaces.Discrete,
                 config: A3CConfig, rng: np.random.RandomState, worker_device=None):
        self.index = index
        self.scope = f"worker_{index}"
        policy_cls, t_max = glob.policy_cls, config.t_max
        with tf1.device(worker_device):
            with tf1.variable_scope(self.scope):
                self.step_model = policy_cls(ob_space, ac_space, 1, 1, config.nstack, reuse=False, rng=rng)
                self.train_model = policy_cls(ob_space, ac_space, 1, t_max, config.nstack, reuse=True, rng=rng)
                self.A = tf1.placeholder(tf.int32, [t_max], name="A")
                self.ADV = tf1.placeholder(tf.float32, [t_max], name="ADV")
                self.R = tf1.placeholder(tf.float32, [t_max], name="R")
                self.W = tf1.placeholder(tf.float32, [t_max], name="W")
                self.NSTEPS = tf1.placeholder(tf.int64, [], name="NSTEPS")
                self.NEPISODES = tf1.placeholder(tf.int64, [], name="NEPISODES")
                pi, vf = self.train_model.pi, tf.squeeze(self.train_model.vf, axis=1)
                neglogp = tf.nn.sparse_softmax_cross_entropy_with_logits(logits=pi, labels=self.A)
                self.policy_loss = tf.reduce_sum(self.W * self.ADV * neglogp)
                self.value_loss = 0.5 * tf.reduce_sum(self.W * tf.square(vf - self.R))
                self.entropy = tf.reduce_sum(self.W * cat_entropy(pi))
                self.loss = self.policy_loss + config.vf_coef * self.value_loss - config.ent_coef * self.entropy
            self.params = tf1.trainable_variables(self.scope + "/")
            names = [_strip(v.op.name, self.scope) for v in self.params]
            if names != glob.param_names:
                raise RuntimeError(f"local variables {names} do not mirror the global ones {glob.param_names}")
            grads = tf.gradients(self.loss, self.params)
            self.grad_norm = tf.linalg.global_norm(grads)
            clipped = list(grads)
            for group in glob.groups:  # each tower is clipped on its own, as seed 003 did
                group_clipped, _ = tf.clip_by_global_norm([grads[i] for i in group], config.max_grad_norm)
                for i, g in zip(group, group_clipped):
                    clipped[i] = g
            clipped = _guard_finite(clipped, self.loss, self.grad_norm)
            self.sync = tf.group(*[local.assign(g) for local, g in zip(self.params, glob.params)])
        # Under the global name scope, so the optimizers' own variables (Adam's beta powers) are named
        # global/... like every other variable that lives with the global weights.
        with tf1.device(glob.device), tf1.name_scope(GLOBAL_SCOPE + "/"):
            applies = [optimizer.apply_gradients([(clipped[i], glob.params[i]) for i in group])
                       for optimizer, group in zip(glob.optimizers, glob.groups)]
            with tf.control_dependencies(applies):
                self.step_after = glob.step.assign_add(self.NSTEPS)
                self.episodes_after = glob.episodes.assign_add(self.NEPISODES)
        self.diagnostics = {"policy_loss": self.policy_loss, "value_loss": self.value_loss,
                            "policy_entropy": self.entropy, "total_loss": self.loss, "grad_norm": self.grad_norm}
        self.variables = tf1.global_variables(self.scope + "/")
        self.initializer = tf1.variables_initializer(self.variables)


RUN_OPS_IN_CALLER = -1  # inter_op_parallelism_threads below 0: every op runs in the thread that called run


def session_config(inter_op_threads: int, device_filters: Optional[list] = None,
                   operation_timeout_s: Optional[float] = None) -> tf1.ConfigProto:
    """One intra-op thread per op (the workers are the parallelism; more fight over the cores);
    ``inter_op_threads`` threads to run ops on, or :data:`RUN_OPS_IN_CALLER`."""
    config = tf1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=inter_op_threads,
                             allow_soft_placement=True)
    if device_filters:
        config.device_filters.extend(device_filters)
    if operation_timeout_s:
        config.operation_timeout_in_ms = int(operation_timeout_s * 1000)
    return config
