"""The training loop: rollouts, updates, log rows, checkpoints; it reads top to bottom."""
from __future__ import annotations

import collections
import time
from typing import Optional

import numpy as np

from a2c_tf1.agent import Agent
from a2c_tf1.logger import Logger, ProgressLine
from a2c_tf1.metrics import explained_variance
from a2c_tf1.runner import Runner


class Interrupted(Exception):
    """Ctrl-C during training; the checkpoint was saved before this was raised."""

    def __init__(self, timestep: int):
        super().__init__(timestep)
        self.timestep = timestep


class EpisodeStats:
    """The last 100 finished games (raw, all lives) and lives (raw), as baselines' logs reported."""

    def __init__(self, window: int = 100):
        self.games = collections.deque(maxlen=window)
        self.lengths = collections.deque(maxlen=window)
        self.lives = collections.deque(maxlen=window)

    def add(self, episodes: list[dict]) -> None:
        for ep in episodes:
            if ep["kind"] == "game":
                self.games.append(ep["r"])
                self.lengths.append(ep["l"])
            else:
                self.lives.append(ep["r"])

    def summary(self) -> dict:
        def stat(values, fn):
            return float(fn(values)) if values else float("nan")
        return {"eprewmean": stat(self.games, np.mean), "eprewmax": stat(self.games, np.max),
                "eplenmean": stat(self.lengths, np.mean), "liferewmean": stat(self.lives, np.mean),
                "liferewmax": stat(self.lives, np.max), "episodes": len(self.games)}


def batch_diagnostics(rollout) -> dict:
    """Diagnostics of one batch computed from the rollout (numpy)."""
    advantages = rollout.returns - rollout.values
    return {"explained_variance": explained_variance(rollout.values, rollout.returns),
            "advantage_mean": float(advantages.mean()), "advantage_std": float(advantages.std()),
            "value_target_mean": float(rollout.returns.mean()), "value_mean": float(rollout.values.mean())}


def learn(agent: Agent, env, total_timesteps: int, logger: Logger, *, nsteps: int = 5, nstack: int = 4,
          gamma: float = 0.99, log_interval: int = 100, save_path: Optional[str] = None,
          save_interval: int = 1000, start_timestep: int = 0, progress: Optional[ProgressLine] = None) -> int:
    """Train ``agent`` on ``env`` until ``total_timesteps``; returns the timestep reached.

    Every ``log_interval`` updates one row goes to ``logger``: the loss terms and diagnostics averaged
    over the interval's updates, and the episode statistics. Every ``save_interval`` updates, at the end
    and on Ctrl-C, the weights go to ``save_path`` and the optimizer state beside it.

    Raises:
        Interrupted: on Ctrl-C, after saving.
        TrainingDiverged: on a NaN/inf loss; nothing is saved, so the last checkpoint stays good.
    """
    runner = Runner(env, agent, nsteps=nsteps, nstack=nstack, gamma=gamma)
    nbatch = env.num_envs * nsteps
    episode_stats = EpisodeStats()
    interval_sums: dict = collections.defaultdict(float)
    interval_updates = 0
    timestep = start_timestep
    update = timestep // nbatch
    session_start, session_start_step = time.time(), timestep

    def save() -> None:
        if save_path is not None:
            agent.save(save_path)
            agent.save_training_state(save_path, timestep)

    try:
        while timestep < total_timesteps:
            rollout = runner.run()
            stats = agent.train_with_diagnostics(rollout.obs, rollout.returns, rollout.actions, rollout.values,
                                                 timestep, rollout.states, rollout.masks)
            timestep += nbatch
            update += 1
            episode_stats.add(rollout.episodes)
            logger.write_episodes(rollout.episodes, timestep)
            for key, value in {**stats, **batch_diagnostics(rollout)}.items():
                interval_sums[key] += value
            interval_updates += 1
            if progress is not None:
                progress.update(timestep, f"last-100 mean {episode_stats.summary()['eprewmean']:.2f}")
            if update % log_interval == 0 or update == 1 or timestep >= total_timesteps:
                fps = (timestep - session_start_step) / max(time.time() - session_start, 1e-9)
                row = {"nupdates": update, "total_timesteps": timestep, "fps": int(fps)}
                row.update({k: v / interval_updates for k, v in interval_sums.items()})
                row.update(episode_stats.summary())
                if progress is not None:
                    progress.clear()
                logger.write(row, timestep)
                interval_sums.clear()
                interval_updates = 0
            if update % save_interval == 0:
                save()
    except KeyboardInterrupt:
        save()
        raise Interrupted(timestep) from None
    save()
    if progress is not None:
        progress.clear()
    return timestep
