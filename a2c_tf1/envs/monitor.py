"""Episode bookkeeping for vectorised envs: raw per-life and full-game scores.

Training may see an episode end at every life loss, but the score people quote is the raw,
unclipped sum over the whole game (all lives); both are tracked here.
"""
from __future__ import annotations

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
