"""Discounted n-step returns, pure numpy (no TensorFlow needed to test them)."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def discount_with_dones(rewards: Sequence[float], dones: Sequence[float], gamma: float) -> list[float]:
    """Discounted return of every step of one env's rollout, cut at episode ends.

    Walks backwards: ``R_t = r_t + gamma * R_{t+1} * (1 - done_t)``, where ``done_t`` says the
    episode ended *at* step t, so nothing after it flows back into ``R_t``. To bootstrap, pass
    ``rewards + [V(s_T)]`` and ``dones + [0]`` and drop the last element, as the Runner does.

    Args:
        rewards: ``[T]`` rewards of one environment, in time order.
        dones: ``[T]`` episode-end flags aligned with ``rewards``.
        gamma: discount factor.

    Returns:
        ``[T]`` list of discounted returns.
    """
    discounted = []
    running = 0.0
    for reward, done in zip(rewards[::-1], dones[::-1]):
        running = reward + gamma * running * (1.0 - done)
        discounted.append(running)
    return discounted[::-1]


def bootstrapped_returns(
    rewards: np.ndarray, dones: np.ndarray, last_values: np.ndarray, gamma: float
) -> np.ndarray:
    """n-step returns of a whole rollout, bootstrapped off ``V(s_T)`` unless the last step ended.

    Args:
        rewards: ``[nenv, T]`` float rewards (env-major).
        dones: ``[nenv, T]`` bool, ``dones[e, t]`` is True when step t ended env e's episode.
        last_values: ``[nenv]`` value of the observation after the last step.
        gamma: discount factor.

    Returns:
        ``[nenv, T]`` float32 returns.
    """
    returns = np.empty_like(rewards, dtype=np.float32)
    for env, (env_rewards, env_dones, value) in enumerate(zip(rewards, dones, last_values)):
        env_rewards, env_dones = env_rewards.tolist(), env_dones.astype(np.float64).tolist()
        if env_dones[-1] == 0:
            returns[env] = discount_with_dones(env_rewards + [float(value)], env_dones + [0.0], gamma)[:-1]
        else:
            returns[env] = discount_with_dones(env_rewards, env_dones, gamma)
    return returns


# ---- one actor-learner's rollout (A3C): per-step terminal and truncation flags -----------------------
def _segment_flags(terminals: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    terminals, ends = np.asarray(terminals, dtype=bool), np.asarray(ends, dtype=bool)
    if terminals.shape != ends.shape or terminals.ndim != 1:
        raise ValueError(f"terminals {terminals.shape} and ends {ends.shape} must be the same [T] shape")
    return terminals, ends | terminals


def nstep_returns(rewards: Sequence[float], next_values: Sequence[float], terminals: Sequence[bool],
                  ends: Sequence[bool], gamma: float) -> np.ndarray:
    """n-step returns of one environment's rollout, bootstrapped wherever the rollout is cut.

    ``R_t = r_t + gamma * R_{t+1}`` inside an episode. Where the flow stops, at an episode end
    (``ends[t]``) or at the last step, the rest is estimated by ``V(s_{t+1}) = next_values[t]``, unless
    ``s_{t+1}`` is terminal (``terminals[t]``), where it is 0. A time limit is an end but not a terminal:
    the value of the observation it stopped at stands in for the rewards the limit cut off.

    Args:
        rewards: ``[T]`` rewards.
        next_values: ``[T]`` value of the observation after each step (the final observation of an
            episode cut by a time limit, not the first of the next one). Only entries where the flow
            stops are read.
        terminals: ``[T]`` bool, step t reached a terminal state (implies an end).
        ends: ``[T]`` bool, the episode ended at step t, terminal or truncated.
        gamma: discount factor.

    Returns:
        ``[T]`` float32 returns.
    """
    terminals, ends = _segment_flags(terminals, ends)
    rewards = np.asarray(rewards, dtype=np.float64)
    next_values = np.asarray(next_values, dtype=np.float64)
    returns = np.empty(len(rewards), dtype=np.float64)
    running = 0.0
    for t in reversed(range(len(rewards))):
        if ends[t] or t == len(rewards) - 1:
            running = 0.0 if terminals[t] else next_values[t]
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns.astype(np.float32)


def gae_advantages(rewards: Sequence[float], values: Sequence[float], next_values: Sequence[float],
                   terminals: Sequence[bool], ends: Sequence[bool], gamma: float, lam: float) -> np.ndarray:
    """Generalised advantage estimates (Schulman et al. 2016) of one environment's rollout.

    ``delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminal_t) - V(s_t)`` and
    ``A_t = delta_t + gamma * lam * (1 - end_t) * A_{t+1}``. With ``lam = 1`` and ``next_values[t] ==
    values[t+1]`` inside an episode, ``A_t`` is the n-step return minus ``V(s_t)``; with ``lam = 0`` it is
    the one-step TD error. A time limit bootstraps as in :func:`nstep_returns`.

    Args:
        rewards: ``[T]`` rewards.
        values: ``[T]`` ``V(s_t)`` when the action was chosen.
        next_values: ``[T]`` ``V(s_{t+1})`` (see :func:`nstep_returns`).
        terminals, ends: ``[T]`` bool, as in :func:`nstep_returns`.
        gamma: discount factor.
        lam: GAE lambda in [0, 1].

    Returns:
        ``[T]`` float32 advantages.
    """
    terminals, ends = _segment_flags(terminals, ends)
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    next_values = np.asarray(next_values, dtype=np.float64)
    advantages = np.empty(len(rewards), dtype=np.float64)
    running = 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * (0.0 if terminals[t] else next_values[t]) - values[t]
        running = delta + (0.0 if ends[t] else gamma * lam * running)
        advantages[t] = running
    return advantages.astype(np.float32)
