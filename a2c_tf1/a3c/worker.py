"""One actor-learner: sync from the global network, play up to ``t_max`` steps, compute returns and
advantages, apply the gradients of its own loss to the global weights; repeat. The same loop runs in a
thread of a one-process run and in a worker process of a cluster; only the graph's placement differs.
"""
from __future__ import annotations

import math
import queue
import threading
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from a2c_tf1.a3c.config import A3CConfig
from a2c_tf1.a3c.envs import WorkerEnv
from a2c_tf1.a3c.graph import NONFINITE_UPDATE, GlobalNetwork, LocalNetwork
from a2c_tf1.returns import gae_advantages, nstep_returns
from a2c_tf1.runner import push_frame
from a2c_tf1.schedules import learning_rate


class Update(NamedTuple):
    """What a worker reports after each update (to the thread that logs and saves)."""
    worker: int
    steps: int
    stats: dict  # loss terms per step, gradient norm (before clipping), learning rate
    values: np.ndarray  # [steps] V(s_t) at step time
    returns: np.ndarray  # [steps] value targets
    episodes: list  # lives and games that finished during the rollout (raw scores)
    global_step: int
    global_episodes: int


class TrainingDiverged(RuntimeError):
    """A loss or the gradient norm became NaN or infinite."""


def lr_at(config: A3CConfig, global_step: int, global_episodes: int) -> float:
    """Learning rate from the global counters: constant, linear to 0 at ``num_timesteps``, or seed 003's
    ``lr / log10(0.01 * episodes + 10)`` of the global episode count."""
    if config.lrschedule == "episode-log":
        return config.lr / math.log10(0.01 * global_episodes + 10.0)
    return learning_rate(config.lr, config.lrschedule, global_step, config.num_timesteps)


class Worker:
    """Actor-learner ``local.index`` on its own ``env``, running ops of ``local`` in ``sess``."""

    def __init__(self, local: LocalNetwork, glob: GlobalNetwork, env: WorkerEnv, config: A3CConfig, sess):
        self.index, self.env, self.config = local.index, env, config
        step, train = local.step_model, local.train_model
        self.recurrent = bool(getattr(step, "recurrent", False))
        self.initial_state = step.initial_state if self.recurrent else None
        memory = [step.S, step.M] if self.recurrent else []
        self._step = sess.make_callable([step.a0, step.v0] + ([step.snew] if self.recurrent else []),
                                        [step.X] + memory)
        self._value = sess.make_callable(step.v0, [step.X] + memory)
        self._sync = sess.make_callable([local.sync, glob.step, glob.episodes])
        self._train = sess.make_callable(
            [local.diagnostics, local.step_after, local.episodes_after],
            [train.X, local.A, local.ADV, local.R, local.W, glob.LR, local.NSTEPS, local.NEPISODES]
            + ([train.S, train.M] if self.recurrent else []))
        frame_shape = env.observation_space.shape
        self.stack_shape = tuple(frame_shape[:-1]) + (frame_shape[-1] * config.nstack,)
        self.dtype = env.observation_space.dtype

    def sync(self) -> tuple[int, int]:
        """Copy the global weights into the local network; returns the global (step, episodes)."""
        _, step, episodes = self._sync()
        return int(step), int(episodes)

    def _act(self, stack: np.ndarray, state, mask: float):
        if self.recurrent:
            actions, values, state = self._step(stack[None], state, np.array([mask], np.float32))
        else:
            actions, values = self._step(stack[None])
        return int(actions[0]), float(values[0]), state

    def _value_of(self, stack: np.ndarray, state, mask: float) -> float:
        if self.recurrent:
            return float(self._value(stack[None], state, np.array([mask], np.float32))[0])
        return float(self._value(stack[None])[0])

    def _update(self, feed: list, global_step: int) -> tuple:
        """Run the train op; a refused non-finite update becomes :class:`TrainingDiverged` naming this worker."""
        try:
            return self._train(*feed)
        except tf.errors.InvalidArgumentError as exc:
            if NONFINITE_UPDATE not in exc.message:
                raise
            what = "loss" if f"{NONFINITE_UPDATE} (loss)" in exc.message else "gradient norm"
            raise TrainingDiverged(f"worker {self.index}: the {what} is NaN or infinite near global step "
                                   f"{global_step}; the update was refused, the global weights are unchanged") from None

    def run(self, stop: threading.Event, outbox: queue.Queue) -> None:
        """Train until the global step reaches ``num_timesteps`` or ``stop`` is set; report every update to ``outbox``."""
        config, env, t_max = self.config, self.env, self.config.t_max
        obs = np.zeros((t_max,) + self.stack_shape, self.dtype)
        actions = np.zeros(t_max, np.int32)
        rewards, values = np.zeros(t_max, np.float32), np.zeros(t_max, np.float32)
        masks = np.zeros(t_max, np.float32)
        stack = push_frame(np.zeros(self.stack_shape, self.dtype), env.reset())
        state, mask = self.initial_state, 1.0  # mask 1: this step starts an episode
        while not stop.is_set():
            global_step, global_episodes = self.sync()
            if global_step >= config.num_timesteps:
                break
            start_state = state
            episodes: list = []
            terminal = end = False
            n = 0
            while n < t_max and not end:
                action, value, state = self._act(stack, state, mask)
                obs[n], actions[n], values[n], masks[n] = stack, action, value, mask
                step = env.step(action)
                rewards[n] = step.reward
                episodes.extend(step.finished)
                n += 1
                next_stack = push_frame(stack, step.obs)
                mask = 0.0
                if step.terminated or step.truncated:
                    end, terminal = True, step.terminated
                    # A time limit is not a terminal state: the final observation's value stands in for
                    # the rewards the limit cut off.
                    last_value = 0.0 if terminal else self._value_of(next_stack, state, 0.0)
                    stack = push_frame(np.zeros(self.stack_shape, self.dtype), env.reset())
                    state, mask = self.initial_state, 1.0
                else:
                    stack = next_stack
            if not end:
                last_value = self._value_of(stack, state, 0.0)
            next_values = np.append(values[1:n], last_value)
            flags = np.zeros(n, bool)
            terminals, ends = flags.copy(), flags.copy()
            terminals[-1], ends[-1] = terminal, end
            returns = nstep_returns(rewards[:n], next_values, terminals, ends, config.gamma)
            advantages = gae_advantages(rewards[:n], values[:n], next_values, terminals, ends, config.gamma,
                                        config.gae_lambda)
            weights = np.zeros(t_max, np.float32)
            weights[:n] = 1.0
            pad = t_max - n
            games = sum(1 for ep in episodes if ep["kind"] == "game")
            lr = lr_at(config, global_step, global_episodes)
            feed = [obs, actions, np.pad(advantages, (0, pad)), np.pad(returns, (0, pad)), weights, lr, n, games]
            if self.recurrent:
                feed += [start_state, masks]
            stats, global_step, global_episodes = self._update(feed, global_step)
            stats = {k: float(v) / (n if k != "grad_norm" else 1) for k, v in stats.items()}
            bad = [k for k, v in stats.items() if not np.isfinite(v)]
            if bad:
                raise TrainingDiverged(f"worker {self.index}: {bad[0]} is {stats[bad[0]]} at global step {global_step}")
            stats["learning_rate"] = lr
            outbox.put(Update(self.index, n, stats, values[:n].copy(), returns, episodes, int(global_step),
                              int(global_episodes)))
