"""The training loop: rollouts, updates, log rows, checkpoints; it reads top to bottom."""
from __future__ import annotations

import collections
import signal
import threading
import time
from typing import Optional

import numpy as np

from a2c_tf1.agent import Agent
from a2c_tf1.logger import Logger, ProgressLine
from a2c_tf1.metrics import explained_variance
from a2c_tf1.runner import Runner


class Interrupted(Exception):
    """SIGINT (Ctrl-C) or SIGTERM during training; the checkpoint was saved before this was raised.

    Attributes:
        timestep: the timestep saved.
        signum: the signal received.
    """

    def __init__(self, timestep: int, signum: int = signal.SIGINT):
        super().__init__(timestep, signum)
        self.timestep = timestep
        self.signum = signum


class StopSignals:
    """While entered, SIGINT and SIGTERM only ask the training loop to stop; it stops between updates.

    The loop polls :attr:`received` after each update, so a stop never lands inside an update or a save.
    SIGINT is handled even when the process inherited it ignored (``nohup cmd &`` from a script), so
    ``kill -INT`` works there too. The previous handlers come back on exit. Handlers can only be set
    from the main thread; elsewhere this does nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received: Optional[int] = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            # None: a handler set outside Python, which cannot be put back; the default is the closest
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()


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
          save_interval: int = 1000, start_timestep: int = 0, progress: Optional[ProgressLine] = None,
          run_settings: Optional[dict] = None) -> int:
    """Train ``agent`` on ``env`` until ``total_timesteps``; returns the timestep reached.

    Every ``log_interval`` updates one row goes to ``logger``: the loss terms and diagnostics averaged
    over the interval's updates, and the episode statistics. Every ``save_interval`` updates, at the end
    and on SIGINT (Ctrl-C) or SIGTERM, the weights go to ``save_path`` and the optimizer state beside it
    (:meth:`Agent.save_checkpoint`, which keeps ``run_settings`` in the ``.state`` for the resume's
    check). A signal is taken after the update under way.

    Raises:
        Interrupted: on SIGINT or SIGTERM, after saving.
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
    saved_at = None

    def save() -> None:
        nonlocal saved_at
        if save_path is not None and saved_at != timestep:
            agent.save_checkpoint(save_path, timestep, run_settings)
            saved_at = timestep

    with StopSignals() as stop:
        while timestep < total_timesteps and stop.received is None:
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
        save()
        if progress is not None:
            progress.clear()
        if stop.received is not None and timestep < total_timesteps:  # else the run is complete anyway
            raise Interrupted(timestep, stop.received)
    return timestep
