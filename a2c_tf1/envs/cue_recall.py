"""A tiny memory task: a cue is shown at the first step only, and must be named at the last.

Observation ``[n_cues + 1]`` float32: the one-hot cue at step 0, zeros in between, and a final "answer
now" flag (last entry) at the query step. Actions are the cues. The reward is 1 for naming the cue at
the query step and 0 otherwise; the episode then ends. Without memory the best is chance, ``1/n_cues``.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class CueRecallEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, n_cues: int = 2, delay: int = 4):
        self.n_cues, self.delay = n_cues, delay
        self.observation_space = spaces.Box(0.0, 1.0, (n_cues + 1,), np.float32)
        self.action_space = spaces.Discrete(n_cues)
        self._cue, self._t = 0, 0

    def _observation(self) -> np.ndarray:
        obs = np.zeros(self.n_cues + 1, np.float32)
        if self._t == 0:
            obs[self._cue] = 1.0
        if self._t == self.delay:
            obs[-1] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._cue, self._t = int(self.np_random.integers(self.n_cues)), 0
        return self._observation(), {}

    def step(self, action):
        if self._t < self.delay:
            self._t += 1
            return self._observation(), 0.0, False, False, {}
        return self._observation(), float(int(action) == self._cue), True, False, {}
