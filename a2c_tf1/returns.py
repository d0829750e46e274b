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
