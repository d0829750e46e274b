"""Episode bookkeeping for vectorised envs: raw per-life and full-game scores.

Training may see an episode end at every life loss, but the score people quote is the raw,
unclipped sum over the whole game (all lives); both are tracked here.
"""
from __future__ import annotations

from typing import Optional

import gymnasium as gym
import numpy as np


class EpisodeTracker:
    """Sums raw rewards per env and reports finished lives and games.

    A finished item is a dict ``{"kind": "life" | "game", "r": raw return, "l": agent steps, "env": i}``.
    """

    def __init__(self, num_envs: int):
        self.life_return = np.zeros(num_envs, np.float64)
        self.game_return = np.zeros(num_envs, np.float64)
        self.game_length = np.zeros(num_envs, np.int64)

    def update(self, raw_rewards: np.ndarray, counted: np.ndarray, life_ended: np.ndarray,
               game_ended: np.ndarray) -> list[dict]:
        """Account one vector step.

        Args:
            raw_rewards: ``[nenv]`` unclipped rewards.
            counted: ``[nenv]`` bool, False for steps that do not belong to a game (an autoreset step).
            life_ended: ``[nenv]`` bool, a life (or a game) ended at this step.
            game_ended: ``[nenv]`` bool, the game ended at this step (a subset of ``life_ended``).
        """
        self.life_return += raw_rewards
        self.game_return += raw_rewards
        self.game_length += counted
        finished = []
        for env in np.flatnonzero(life_ended):
            finished.append({"kind": "life", "r": float(self.life_return[env]), "env": int(env)})
            self.life_return[env] = 0.0
        for env in np.flatnonzero(game_ended):
            game = {"kind": "game", "r": float(self.game_return[env]), "l": int(self.game_length[env]), "env": int(env)}
            finished.append(game)
            self.game_return[env] = 0.0
            self.game_length[env] = 0
        return finished


class GameScore(gym.Wrapper):
    """Sums the raw reward of the whole game (all lives) below the life-loss wrapper, as baselines'
    Monitor did, so the steps that wrapper takes on its own are counted too.

    Each finished game is appended to ``finished`` as ``{"kind": "game", "r": raw score, "l": steps}``;
    the reader takes them out.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.score, self.length, self.finished = 0.0, 0, []

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.score += reward
        self.length += 1
        if terminated or truncated:
            self.finished.append({"kind": "game", "r": float(self.score), "l": self.length})
            self.score, self.length = 0.0, 0
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs):
        self.score, self.length = 0.0, 0
        return self.env.reset(**kwargs)


def find_game_score(env: gym.Env) -> Optional[GameScore]:
    """The :class:`GameScore` in ``env``'s wrapper chain, or None."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, GameScore):
            return env
        env = env.env
    return None
