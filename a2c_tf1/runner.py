"""Rollout collection: numpy only; the agent is called through ``step`` and ``value``."""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from a2c_tf1.returns import bootstrapped_returns


def push_frame(stack: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Drop the oldest frame of ``stack`` ``[..., C*nstack]`` and append ``frame`` ``[..., C]`` as the newest."""
    nc = frame.shape[-1]
    stack = np.roll(stack, shift=-nc, axis=-1)
    stack[..., -nc:] = frame
    return stack


class Rollout(NamedTuple):
    """One batch, env-major (row ``e * nsteps + t`` is env e at step t).

    obs ``[nbatch, H, W, C*nstack]``, returns ``[nbatch]``, actions ``[nbatch]``, values ``[nbatch]``
    (V(s_t) when the action was chosen), episodes: lives and games that finished during the rollout.
    """
    obs: np.ndarray
    returns: np.ndarray
    actions: np.ndarray
    values: np.ndarray
    episodes: list
    states: Optional[np.ndarray] = None  # recurrent policies: state [nenv, 2*nlstm] at the rollout's start
    masks: Optional[np.ndarray] = None  # recurrent policies: [nbatch], 1 where the previous step ended


class Runner:
    """Steps ``nenv`` envs ``nsteps`` times with the agent and computes bootstrapped returns.

    Frames are stacked in ``self.obs`` ``[nenv, H, W, C*nstack]`` (newest last); an env's stack is zeroed
    when its episode ends so no frame leaks across a life loss.
    """

    def __init__(self, env, agent, nsteps: int = 5, nstack: int = 4, gamma: float = 0.99):
        self.env, self.agent = env, agent
        self.nsteps, self.gamma = nsteps, gamma
        self.nenv = env.num_envs
        *frame_shape, self.nc = env.observation_space.shape
        self.obs = np.zeros([self.nenv, *frame_shape, self.nc * nstack], dtype=env.observation_space.dtype)
        self.update_obs(env.reset())
        self.dones = np.zeros(self.nenv, dtype=bool)
        self.recurrent = bool(getattr(agent, "recurrent", False))
        self.states = agent.initial_state if self.recurrent else None

    def update_obs(self, obs: np.ndarray) -> None:
        """Drop the oldest frame and write ``obs`` ``[nenv, H, W, C]`` as the newest."""
        self.obs = push_frame(self.obs, obs)

    def run(self) -> Rollout:
        # Written env-major from the start ([nenv, nsteps, ...]), so each frame stack is copied once.
        mb_obs = np.empty((self.nenv, self.nsteps) + self.obs.shape[1:], dtype=self.obs.dtype)
        mb_rewards, mb_actions, mb_values, mb_dones, mb_masks = [], [], [], [], []
        episodes = []
        start_states = self.states
        for t in range(self.nsteps):
            if self.recurrent:
                mb_masks.append(self.dones)
                actions, values, self.states = self.agent.step(self.obs, self.states, self.dones)
            else:
                actions, values = self.agent.step(self.obs)
            mb_obs[:, t] = self.obs
            mb_actions.append(actions)
            mb_values.append(values)
            obs, rewards, dones, finished = self.env.step(actions)
            episodes.extend(finished)
            self.dones = dones
            self.obs[dones] = 0
            self.update_obs(obs)
            mb_rewards.append(rewards)
            mb_dones.append(dones)
        # [nsteps, nenv] -> [nenv, nsteps]: env-major, as the train model's placeholders expect.
        mb_obs = mb_obs.reshape((-1,) + self.obs.shape[1:])
        mb_rewards = np.asarray(mb_rewards, dtype=np.float32).swapaxes(1, 0)
        mb_actions = np.asarray(mb_actions, dtype=np.int32).swapaxes(1, 0)
        mb_values = np.asarray(mb_values, dtype=np.float32).swapaxes(1, 0)
        mb_dones = np.asarray(mb_dones, dtype=bool).swapaxes(1, 0)
        if self.recurrent:
            last_values = self.agent.value(self.obs, self.states, self.dones)
            masks = np.asarray(mb_masks, dtype=np.float32).swapaxes(1, 0).ravel()
        else:
            last_values, masks = self.agent.value(self.obs), None
        returns = bootstrapped_returns(mb_rewards, mb_dones, last_values, self.gamma)
        return Rollout(mb_obs, returns.ravel(), mb_actions.ravel(), mb_values.ravel(), episodes, start_states, masks)
