"""Atari environments with baselines' semantics.

Two paths give the same observations, rewards and dones (tests/test_envs.py checks it):

* :class:`AtariVecEnv`, the fast path used for training: ale-py's C++ ``AtariVectorEnv`` (threads,
  no pickling), configured as baselines' wrapper stack (NoopReset(30) -> MaxAndSkip(4) -> EpisodicLife
  -> FireReset -> WarpFrame 84x84 gray -> ClipReward), with raw full-game scores recorded before
  clipping.
* :func:`make_reference_env`, a plain gymnasium wrapper stack of the same order, for checking and for
  users who want one env object.

Serving: in games whose action 1 is FIRE, both paths press FIRE together with the agent's own action on
the first step of every life (game start and after each life loss), through ale-py's full action set, so a
policy that never chooses FIRE still plays whole games and the policy keeps the game's minimal action set.
baselines served with hidden steps instead (EpisodicLife's no-op, then FireReset's FIRE and RIGHT), which a
synchronous vector env cannot take for one env alone.

Differences left (README "Where we differ"): the serve is part of the agent's first step of a life rather
than three hidden steps; at game over ale-py spends the agent's next step on the reset (action ignored,
reward 0), once per game.
"""
from __future__ import annotations

import os
from typing import Optional

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from a2c_tf1.envs.monitor import EpisodeTracker, GameScore


def minimal_action_names(game: str) -> list[str]:
    """The game's minimal action set as ALE names, e.g. ``['NOOP', 'FIRE', 'RIGHT', 'LEFT']`` for breakout."""
    import ale_py

    ale = ale_py.ALEInterface()
    ale.setLoggerMode(ale_py.LoggerMode.Error)
    ale.loadROM(ale_py.roms.get_rom_path(game))
    return [action.name for action in ale.getMinimalActionSet()]


def serving_action_ids(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Full-action-set ids for minimal actions ``names``: ``(plain [nact], with FIRE added [nact])``.

    ALE's full action set is ordered as its ``Action`` enum, so an id is the enum value; adding FIRE to a
    direction gives its FIRE twin (RIGHT -> RIGHTFIRE, NOOP -> FIRE), which every game accepts.
    """
    from ale_py import Action

    def with_fire(name: str) -> str:
        return name if "FIRE" in name else ("FIRE" if name == "NOOP" else name + "FIRE")

    plain = np.array([int(getattr(Action, name)) for name in names], dtype=np.int32)
    served = np.array([int(getattr(Action, with_fire(name))) for name in names], dtype=np.int32)
    return plain, served


def serves_with_fire(names: list[str]) -> bool:
    """baselines pressed FIRE at every (life) start in the games whose action 1 is FIRE (FireResetEnv)."""
    return len(names) > 1 and names[1] == "FIRE"


class AtariVecEnv:
    """``nenv`` Atari games stepped by ale-py's C++ vector env, in baselines' semantics.

    ``step`` takes actions ``[nenv]`` from the game's minimal set and returns ``(obs [nenv,84,84,1] uint8,
    clipped rewards [nenv] float32, dones [nenv] bool, finished episodes list)``; ``dones`` is True at every
    life loss (the game goes on) and at game over. With ``serve`` (the default) games whose action 1 is FIRE
    get FIRE added to the agent's action on the first step of every life.
    """

    def __init__(self, env_id: str, game: str, num_envs: int, seed: int, *, noop_max: int = 30,
                 repeat_action_probability: float = 0.0, max_num_frames_per_episode: int = 108000,
                 num_threads: Optional[int] = None,
                 frame_shape: tuple[int, int] = (84, 84), serve: bool = True):
        from ale_py import AtariVectorEnv

        self.env_id = env_id
        self.num_envs = num_envs
        self._seed = seed
        names = minimal_action_names(game)
        fire_game = serves_with_fire(names)
        self.serves = serve and fire_game
        self._plain_ids, self._served_ids = serving_action_ids(names)
        self._env = AtariVectorEnv(
            game=game, num_envs=num_envs, num_threads=num_threads or min(num_envs, os.cpu_count() or 1),
            img_height=frame_shape[0], img_width=frame_shape[1], grayscale=True, stack_num=1, frameskip=4,
            maxpool=True, noop_max=noop_max, repeat_action_probability=repeat_action_probability,
            # Serving needs FIRE+direction ids, so actions go through the full set, mapped from the minimal one;
            # without serving, ale-py's own reset presses FIRE for one frame (about 2 serves in 3 in Breakout).
            full_action_space=True, use_fire_reset=fire_game and not serve,
            max_num_frames_per_episode=max_num_frames_per_episode,
            # A life loss is reported as terminated while the game goes on (baselines' EpisodicLife);
            # episodic_life=True would restart the whole game at every life loss.
            episodic_life=False, life_loss_info=True,
            # Clipping happens here, after the raw score is recorded.
            reward_clipping=False,
        )
        self.observation_space = spaces.Box(0, 255, frame_shape + (1,), np.uint8)
        self.action_space = spaces.Discrete(len(names))
        self._tracker = EpisodeTracker(num_envs)
        # ale-py resets a finished game on the *next* step (its same-step autoreset crashes in 0.11).
        self._resetting = np.zeros(num_envs, bool)
        self._serve_next = np.zeros(num_envs, bool)

    def reset(self) -> np.ndarray:
        obs, _ = self._env.reset(seed=self._seed)
        self._resetting[:] = False
        self._serve_next[:] = self.serves
        return obs.reshape((self.num_envs,) + self.observation_space.shape)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        actions = np.asarray(actions, dtype=np.int32)
        ids = np.where(self._serve_next, self._served_ids[actions], self._plain_ids[actions])
        obs, raw_rewards, terminated, truncated, info = self._env.step(ids)
        game_over = truncated | (terminated & (info["lives"] == 0))
        dones = terminated | truncated
        finished = self._tracker.update(raw_rewards, ~self._resetting, dones, game_over)
        # Serve on the next step after a life loss, and after the reset step that follows a game over.
        self._serve_next = self.serves & ((dones & ~game_over) | self._resetting)
        self._resetting = game_over
        rewards = np.sign(raw_rewards).astype(np.float32)
        return obs.reshape((self.num_envs,) + self.observation_space.shape), rewards, dones, finished

    def close(self) -> None:
        self._env.close()


class EpisodicLifeEnv(gym.Wrapper):
    """Ends the episode at a life loss while the game goes on; resets the game only at game over or when
    a seed is given."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.lives = 0
        self.game_over = True

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.game_over = terminated or truncated
        lives = self.env.unwrapped.ale.lives()
        if 0 < lives < self.lives:
            terminated = True
        self.lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs):
        # A seeded reset asks for a new game (a vector env's first reset); an autoreset after a life loss
        # comes without a seed.
        if self.game_over or kwargs.get("seed") is not None:
            obs, info = self.env.reset(**kwargs)
        else:
            # Not a real reset: continue the game with a no-op, as baselines did.
            obs, _, _, _, info = self.env.step(0)
        self.lives = self.env.unwrapped.ale.lives()
        return obs, info


class FireResetEnv(gym.Wrapper):
    """Presses FIRE after a reset, for games that wait for it.

    ``mode="baselines"``: a FIRE step then a RIGHT step (baselines' FireResetEnv); ``mode="ale"``: FIRE for a
    single frame, as ale-py's vector env does (the observation returned is the one before that frame).
    """

    def __init__(self, env: gym.Env, mode: str = "baselines"):
        super().__init__(env)
        assert env.unwrapped.get_action_meanings()[1] == "FIRE"
        self.mode = mode

    def reset(self, **kwargs):
        if self.mode == "ale":
            obs, info = self.env.reset(**kwargs)
            self.env.unwrapped.ale.act(1)
            return obs, info
        self.env.reset(**kwargs)
        for action in (1, 2):
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                self.env.reset(**kwargs)
        return obs, info


class ServeEachLife(gym.Wrapper):
    """Adds FIRE to the agent's action on the first step of every life, as the fast path does.

    The wrapped env runs ALE's full action set (``gym.make(..., full_action_space=True)``); this wrapper's
    action space is the game's minimal set ``Discrete(len(names))``.
    """

    def __init__(self, env: gym.Env, names: list[str]):
        super().__init__(env)
        self.action_space = spaces.Discrete(len(names))
        self._plain_ids, self._served_ids = serving_action_ids(names)
        self._serve_next = True
        self._lives = 0

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._serve_next, self._lives = True, self.env.unwrapped.ale.lives()
        return obs, info

    def step(self, action):
        ids = self._served_ids if self._serve_next else self._plain_ids
        obs, reward, terminated, truncated, info = self.env.step(int(ids[action]))
        lives = self.env.unwrapped.ale.lives()
        self._serve_next, self._lives = lives < self._lives, lives
        return obs, reward, terminated, truncated, info


class CropResizeFrame(gym.ObservationWrapper):
    """Crop the full grayscale frame ``[210, 160, 1]`` and resize the crop (INTER_AREA) to ``size``."""

    def __init__(self, env: gym.Env, rows: slice, cols: slice, size: tuple[int, int]):
        super().__init__(env)
        self.rows, self.cols, self.size = rows, cols, size
        self.observation_space = spaces.Box(0, 255, size + (1,), np.uint8)

    def observation(self, frame: np.ndarray) -> np.ndarray:
        import cv2

        crop = np.ascontiguousarray(frame[self.rows, self.cols, 0])
        return cv2.resize(crop, self.size[::-1], interpolation=cv2.INTER_AREA)[:, :, None]


class _MinimalActions(gym.ActionWrapper):
    """Minimal-set actions on an env that runs ALE's full action set (games without FIRE, serve mode)."""

    def __init__(self, env: gym.Env, names: list[str]):
        super().__init__(env)
        self.action_space = spaces.Discrete(len(names))
        self._ids = serving_action_ids(names)[0]

    def action(self, action):
        return int(self._ids[action])


def make_kungfu42_env(env_id: str, seed: int, noop_max: int = 30, clip_rewards: bool = True) -> gym.Env:
    """Seed 002's frames: grayscale ``img[60:-30, 5:]`` of the full frame resized to 42x42, in baselines'
    wrapper order (NoopReset, MaxAndSkip(4), EpisodicLife, FireReset when the game has FIRE, sign-clipped rewards)."""
    spec = gym.spec(env_id)
    env = gym.make(env_id, frameskip=1, repeat_action_probability=spec.kwargs.get("repeat_action_probability", 0.0))
    env = gym.wrappers.AtariPreprocessing(env, noop_max=noop_max, frame_skip=4, screen_size=(160, 210),
                                          grayscale_obs=True, grayscale_newaxis=True, scale_obs=False)
    env = CropResizeFrame(env, slice(60, -30), slice(5, None), (42, 42))
    return _baselines_wrappers(env, seed, episodic_life=True, fire_reset="baselines", clip_rewards=clip_rewards)


def _baselines_wrappers(env: gym.Env, seed: int, *, episodic_life: bool, fire_reset: Optional[str],
                        clip_rewards: bool) -> gym.Env:
    """The part of baselines' stack above the frame processing: EpisodicLife, FireReset (or serving), sign
    clipping. ``fire_reset="serve"`` expects an env on ALE's full action set and gives it the minimal one.
    With ``episodic_life`` the raw game score is summed below EpisodicLife, as baselines' Monitor was
    (:class:`GameScore`; GymBatchEnv reads it)."""
    if episodic_life:
        env = EpisodicLifeEnv(GameScore(env))
    names = minimal_action_names(env.unwrapped._game) if fire_reset == "serve" else env.unwrapped.get_action_meanings()
    if fire_reset == "serve":
        env = ServeEachLife(env, names) if serves_with_fire(names) else _MinimalActions(env, names)
    elif fire_reset and serves_with_fire(names):
        env = FireResetEnv(env, mode=fire_reset)
    if clip_rewards:
        env = gym.wrappers.TransformReward(env, lambda r: float(np.sign(r)))
    env.reset(seed=seed)
    return env


def make_reference_env(env_id: str, seed: int, *, noop_max: int = 30, repeat_action_probability: float = 0.0,
                       episodic_life: bool = True, fire_reset: Optional[str] = "baselines",
                       clip_rewards: bool = True, render_mode: Optional[str] = None) -> gym.Env:
    """One Atari env as a gymnasium wrapper stack in baselines' order (frames ``[84, 84, 1]`` uint8).

    gymnasium's ``AtariPreprocessing`` does NoopReset, MaxAndSkip(4) and WarpFrame (84x84 grayscale,
    INTER_AREA); EpisodicLife, FireReset and sign clipping follow it as in baselines.

    Args:
        fire_reset: "serve" (FIRE added to the first action of every life: the fast path's behaviour),
            "baselines" (FIRE then RIGHT after every reset), "ale" (one FIRE frame at a game start, the
            fast path without serving) or None.
    """
    import ale_py

    gym.register_envs(ale_py)  # the ALE ids exist for gym.make only once ale-py registered them
    env = gym.make(env_id, frameskip=1, repeat_action_probability=repeat_action_probability, render_mode=render_mode,
                   full_action_space=fire_reset == "serve")
    env = gym.wrappers.AtariPreprocessing(env, noop_max=noop_max, frame_skip=4, screen_size=84,
                                          terminal_on_life_loss=False, grayscale_obs=True,
                                          grayscale_newaxis=True, scale_obs=False)
    return _baselines_wrappers(env, seed, episodic_life=episodic_life, fire_reset=fire_reset,
                               clip_rewards=clip_rewards)
