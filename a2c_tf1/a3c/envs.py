"""One environment per actor-learner, stepped one action at a time.

Unlike the A2C's vector envs, each step says whether the episode reached a terminal state or was cut
by a time limit, and hands back the final observation of a cut episode, so the worker can bootstrap
from it (a time limit is not a terminal state).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from a2c_tf1.a3c.config import A3CConfig
from a2c_tf1.config import IMAGE_ONLY_POLICIES, image_policy_error
from a2c_tf1.envs import env_spec, is_atari
from a2c_tf1.envs.atari import EpisodicLifeEnv, FireResetEnv
from a2c_tf1.envs.monitor import GameScore


class ActionSubset(gym.ActionWrapper):
    """The policy chooses index i among ``table``; the game receives ``table[i]`` (seed 003's action tables)."""

    def __init__(self, env: gym.Env, table: tuple):
        super().__init__(env)
        full = env.action_space.n
        bad = [a for a in table if not 0 <= a < full]
        if bad:
            raise ValueError(f"action set {list(table)} names actions {bad} but the game has {full} (0..{full - 1})")
        self.table = np.asarray(table, dtype=np.int64)
        self.action_space = spaces.Discrete(len(table))

    def action(self, action):
        return int(self.table[int(action)])


class Step(NamedTuple):
    """One step: ``obs`` one frame (``[84, 84, 1]`` uint8 or ``[n]`` float), the training reward (sign-
    clipped on Atari), ``terminated`` (a terminal state; a life loss on Atari), ``truncated`` (cut by a
    time limit), and the lives and games that finished at this step (raw scores)."""
    obs: np.ndarray
    reward: float
    terminated: bool
    truncated: bool
    finished: list


def make_atari(env_id: str, seed: int, noop_max: int, render_mode: Optional[str] = None) -> gym.Env:
    """baselines' order: NoopReset, MaxAndSkip(4), WarpFrame 84x84 (gymnasium's AtariPreprocessing), the
    game score, EpisodicLife, FireReset (FIRE then RIGHT after every reset, as baselines did)."""
    spec = gym.spec(env_id)
    env = gym.make(env_id, frameskip=1, repeat_action_probability=spec.kwargs.get("repeat_action_probability", 0.0),
                   render_mode=render_mode)
    env = gym.wrappers.AtariPreprocessing(env, noop_max=noop_max, frame_skip=4, screen_size=84,
                                          terminal_on_life_loss=False, grayscale_obs=True,
                                          grayscale_newaxis=True, scale_obs=False)
    env = EpisodicLifeEnv(GameScore(env))
    if "FIRE" in env.unwrapped.get_action_meanings()[1:2]:
        env = FireResetEnv(env, mode="baselines")
    env.reset(seed=seed)
    return env


class WorkerEnv:
    """One env for one actor-learner.

    ``observation_space`` is one frame; ``action_space`` is ``Discrete(len(action_set))`` when a reduced
    action set is given. ``reset()`` starts the next episode (on Atari: the next life, or a new game
    after the last one) and returns its first frame.
    """

    def __init__(self, env_id: str, seed: int, noop_max: int = 30, action_set: Optional[tuple] = None):
        env_spec(env_id)  # registers the ALE ids; UnknownEnvError for an unknown id
        self.env_id = env_id
        self.atari = is_atari(env_id)
        if self.atari:
            self._env = make_atari(env_id, seed, noop_max)
            self._score = self._env.env.env if isinstance(self._env, FireResetEnv) else self._env.env
        else:
            self._env = gym.make(env_id)
            self._score = None
        if not isinstance(self._env.action_space, spaces.Discrete):
            raise ValueError(f"{env_id} has a {type(self._env.action_space).__name__} action space; "
                             f"A3C here supports Discrete actions only")
        if action_set is not None:
            self._env = ActionSubset(self._env, tuple(action_set))
        self.observation_space = self._env.observation_space
        self.action_space = self._env.action_space
        self._seed, self._first_reset = seed, True
        self._life_score, self._life_length = 0.0, 0

    def reset(self) -> np.ndarray:
        if self._first_reset:
            obs, _ = self._env.reset(seed=self._seed)
            self._first_reset = False
        else:
            obs, _ = self._env.reset()
        self._life_score, self._life_length = 0.0, 0
        return obs

    def step(self, action: int) -> Step:
        obs, reward, terminated, truncated, _ = self._env.step(int(action))
        self._life_score += reward
        self._life_length += 1
        finished = []
        if terminated or truncated:
            finished.append({"kind": "life", "r": float(self._life_score), "l": self._life_length})
            if self._score is not None:
                finished.extend(self._score.finished)
                self._score.finished.clear()
            else:
                finished.append({"kind": "game", "r": float(self._life_score), "l": self._life_length})
        return Step(obs, float(np.sign(reward)) if self.atari else float(reward), bool(terminated),
                    bool(truncated), finished)

    def close(self) -> None:
        self._env.close()


def probe_spaces(config: A3CConfig):
    """(observation space of one frame, action space) of ``config.env_id`` with its action set."""
    env = WorkerEnv(config.env_id, config.seed, noop_max=config.noop_max, action_set=config.action_set)
    spaces = env.observation_space, env.action_space
    env.close()
    return spaces


def check_policy(config: A3CConfig, ob_space) -> None:
    """ValueError when the policy cannot read these observations."""
    error = image_policy_error(config.policy, config.env_id, ob_space.shape, IMAGE_ONLY_POLICIES | {"two-tower"})
    if error:
        raise ValueError(error)
    if config.policy == "mlp" and len(ob_space.shape) == 3:
        raise ValueError(f"{config.env_id} gives images; use --policy cnn, cnn-2013, lstm or two-tower")
