"""Vectorised environments: ale-py's C++ vector env for Atari ids, a gymnasium batch for the rest."""
from __future__ import annotations

from typing import Union

import gymnasium as gym

from a2c_tf1.envs.atari import AtariVecEnv
from a2c_tf1.envs.batch import GymBatchEnv

VecEnv = Union[AtariVecEnv, GymBatchEnv]


class UnknownEnvError(ValueError):
    """The env id is not registered with gymnasium."""


CUE_RECALL_ID = "a2c_tf1/CueRecall-v0"


def env_spec(env_id: str) -> gym.envs.registration.EnvSpec:
    """gymnasium's spec for ``env_id`` (ALE ids and our CueRecall registered first), or :class:`UnknownEnvError`."""
    import ale_py

    gym.register_envs(ale_py)
    if CUE_RECALL_ID not in gym.registry:
        gym.register(CUE_RECALL_ID, entry_point="a2c_tf1.envs.cue_recall:CueRecallEnv")
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner on every env
    try:
        return gym.spec(env_id)
    except gym.error.Error as exc:
        hint = str(exc).split(". ")[-1] if "Did you mean" in str(exc) else ""
        raise UnknownEnvError(
            f"unknown environment {env_id!r}: not registered with gymnasium or ale-py "
            f"(try BreakoutNoFrameskip-v4, PongNoFrameskip-v4, CartPole-v1){'; ' + hint if hint else ''}") from None


def is_atari(env_id: str) -> bool:
    return str(env_spec(env_id).entry_point).startswith("ale_py")


FRAMES = ("nature", "kungfu42")
STACKS = ("ale", "gymnasium")


def make_vec_env(env_id: str, num_envs: int, seed: int, noop_max: int = 30, frame: str = "nature",
                 serve: bool = True, stack: str = "ale") -> VecEnv:
    """Build ``num_envs`` envs seeded ``seed, seed+1, ...`` (baselines: ``seed + rank``).

    ``frame`` picks the Atari frames: "nature" (84x84 of the whole screen) or "kungfu42" (seed 002's 42x42
    of a crop, through gymnasium wrappers, since the C++ env cannot crop). ``stack`` picks how nature
    frames are made: "ale" (ale-py's C++ vector env) or "gymnasium" (baselines' wrapper stack, one env after
    another). ``serve``: on the ale stack, FIRE is added to the first action of every life in games whose
    action 1 is FIRE; on the gymnasium stack, baselines' FireReset presses FIRE, RIGHT after every reset
    (False: one FIRE frame at a game start, as ale-py does).
    """
    spec = env_spec(env_id)
    atari = str(spec.entry_point).startswith("ale_py")
    if frame not in FRAMES:
        raise ValueError(f"unknown frame {frame!r}; choose one of {', '.join(FRAMES)}")
    if stack not in STACKS:
        raise ValueError(f"unknown env stack {stack!r}; choose one of {', '.join(STACKS)}")
    if frame == "kungfu42":
        if not atari:
            raise ValueError(f"the kungfu42 frames are Atari frames; {env_id} is not an ALE id")
        from a2c_tf1.envs.atari import make_kungfu42_env

        # Rewards reach the batch raw, so its monitor records raw game scores; the batch clips them for training.
        fns = [lambda: make_kungfu42_env(env_id, seed, noop_max, clip_rewards=False) for _ in range(num_envs)]
        return GymBatchEnv(env_id, num_envs, seed, env_fns=fns, clip_rewards=True)
    if atari and stack == "gymnasium":
        from a2c_tf1.envs.atari import make_reference_env

        repeat = spec.kwargs.get("repeat_action_probability", 0.0)
        fns = [lambda rank=rank: make_reference_env(env_id, seed + rank, noop_max=noop_max,
                                                    repeat_action_probability=repeat,
                                                    fire_reset="baselines" if serve else "ale", clip_rewards=False)
               for rank in range(num_envs)]
        return GymBatchEnv(env_id, num_envs, seed, env_fns=fns, clip_rewards=True)
    if atari:
        return AtariVecEnv(env_id, spec.kwargs["game"], num_envs, seed, noop_max=noop_max,
                           repeat_action_probability=spec.kwargs.get("repeat_action_probability", 0.0),
                           max_num_frames_per_episode=spec.kwargs.get("max_num_frames_per_episode", 108000),
                           serve=serve)
    return GymBatchEnv(env_id, num_envs, seed)
