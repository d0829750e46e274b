"""Any gymnasium env as a batch with the AtariVecEnv interface (for CartPole and other non-ALE ids)."""
from __future__ import annotations

from typing import Optional

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from a2c_tf1.envs.monitor import EpisodeTracker


class GymBatchEnv:
    """``num_envs`` copies of a gymnasium env, reset in the same step they end (baselines' VecEnv).

    ``step`` returns ``(obs [nenv, *ob_shape], rewards [nenv] float32, dones [nenv] bool, finished)``;
    rewards are not clipped.
    """

    def __init__(self, env_id: str, num_envs: int, seed: int, env_fns: Optional[list] = None):
        self.env_id = env_id
        self.num_envs = num_envs
        self._seed = seed
        fns = env_fns or [lambda: gym.make(env_id) for _ in range(num_envs)]
        self._env = SyncVectorEnv(fns, autoreset_mode=AutoresetMode.SAME_STEP)
        self.observation_space = self._env.single_observation_space
        if not isinstance(self._env.single_action_space, gym.spaces.Discrete):
            raise ValueError(f"{env_id} has a {type(self._env.single_action_space).__name__} action space; "
                             f"A2C here supports Discrete actions only")
        self.action_space = self._env.single_action_space
        self._tracker = EpisodeTracker(num_envs)

    def reset(self) -> np.ndarray:
        obs, _ = self._env.reset(seed=self._seed)
        return obs

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        obs, rewards, terminated, truncated, _ = self._env.step(np.asarray(actions))
        dones = terminated | truncated
        finished = self._tracker.update(rewards, np.ones(self.num_envs, bool), dones, dones)
        return obs, rewards.astype(np.float32), dones, finished

    def close(self) -> None:
        self._env.close()
