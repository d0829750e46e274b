"""Any gymnasium env as a batch with the AtariVecEnv interface (for CartPole and other non-ALE ids)."""
from __future__ import annotations

from typing import Optional

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from a2c_tf1.envs.monitor import EpisodeTracker, find_game_score


class GymBatchEnv:
    """``num_envs`` copies of a gymnasium env, reset in the same step they end (baselines' VecEnv).

    ``step`` returns ``(obs [nenv, *ob_shape], rewards [nenv] float32, dones [nenv] bool, finished)``;
    rewards are sign-clipped with ``clip_rewards``. An episode is a game unless the envs carry a
    :class:`~a2c_tf1.envs.monitor.GameScore` below a life-loss wrapper: then ``dones`` end lives, and the
    games and their raw scores come from the GameScore.
    """

    def __init__(self, env_id: str, num_envs: int, seed: int, env_fns: Optional[list] = None,
                 clip_rewards: bool = False):
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
        self._clip_rewards = clip_rewards
        scores = [find_game_score(env) for env in self._env.envs]
        self._game_scores = scores if all(scores) else None

    def reset(self) -> np.ndarray:
        obs, _ = self._env.reset(seed=self._seed)
        return obs

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        obs, rewards, terminated, truncated, _ = self._env.step(np.asarray(actions))
        dones = terminated | truncated
        if self._game_scores is None:
            finished = self._tracker.update(rewards, np.ones(self.num_envs, bool), dones, dones)
        else:
            finished = self._tracker.update(rewards, np.ones(self.num_envs, bool), dones, np.zeros(self.num_envs, bool))
            for env, score in enumerate(self._game_scores):
                finished += [{**game, "env": env} for game in score.finished]
                score.finished.clear()
        if self._clip_rewards:
            rewards = np.sign(rewards)
        return obs, rewards.astype(np.float32), dones, finished

    def close(self) -> None:
        self._env.close()
