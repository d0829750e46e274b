"""A3C settings: one dataclass with a docstring per field, defaulting to the A3C paper's Atari settings."""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Optional

A3C_POLICIES = ("cnn", "cnn-2013", "mlp", "lstm", "lnlstm", "two-tower")
OPTIMIZERS = ("rmsprop", "adam")
LR_SCHEDULES = ("constant", "linear", "episode-log")
HEAD_INITS = ("orthogonal", "normc")

OPERATION_TIMEOUT_S = 120.0
"""a session call on a cluster that gets no answer fails after this long instead of hanging."""
WORKER_STOP_TIMEOUT_S = OPERATION_TIMEOUT_S + 30.0
"""how long a worker told to stop may take to end its rollout: longer than one session call may
wait on a cluster, so a worker stuck in a call has failed (and said so) before the bound runs out."""


def default_threads() -> int:
    """One worker per CPU this process may run on (its affinity: a container or ``taskset`` may allow
    fewer than the machine has, and more workers than CPUs only queue up)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


@dataclass
class A3CConfig:
    env_id: str = "BreakoutNoFrameskip-v4"
    """gymnasium id; ALE ids get baselines' wrapper stack (no-op starts, frame skip 4, 84x84, life loss
    ends an episode, sign-clipped rewards), others are used as they are."""
    policy: str = "cnn"
    """cnn (Nature CNN), cnn-2013 (the 2013 DQN net the A3C paper used; the a3c-atari preset's), mlp,
    lstm, lnlstm (the A2C's policies, batch 1 per step) or two-tower (seed 003's separate actor and
    critic networks, each with its own optimizer)."""
    num_timesteps: int = 80_000_000
    """global environment steps (all workers together) to train for; the A3C paper ran 80M on Atari."""
    threads: Optional[int] = None
    """actor-learner threads; None means one per CPU this process may run on (:func:`default_threads`)."""
    t_max: int = 5
    """steps per rollout; a rollout also stops at an episode end (the A3C paper: 5)."""
    gamma: float = 0.99
    """discount factor."""
    gae_lambda: float = 1.0
    """GAE lambda for the advantages; 1.0 makes them the n-step return minus V (universe-starter-agent)."""
    lr: float = 7e-4
    """initial learning rate."""
    lrschedule: str = "linear"
    """constant; linear (to 0 at num_timesteps, from the global step); episode-log (seed 003:
    lr / log10(0.01 * global episodes + 10))."""
    optimizer: str = "rmsprop"
    """rmsprop (one shared set of statistics, decay alpha, epsilon) or adam (TF1 defaults besides lr)."""
    alpha: float = 0.99
    """RMSProp decay."""
    epsilon: float = 0.1
    """RMSProp epsilon (the A3C paper: 0.1; inside the square root, as in TF1)."""
    ent_coef: float = 0.01
    """weight of the entropy bonus."""
    vf_coef: float = 0.5
    """weight of the value loss 0.5 * sum((R - V)^2) (universe-starter-agent: 0.5)."""
    max_grad_norm: float = 40.0
    """each worker's gradients are clipped to this global norm before they are applied."""
    head_init: str = "orthogonal"
    """initial policy and value heads: orthogonal (the A2C's, scale 1) or normc (normalised columns,
    0.01 for the policy and 1.0 for the value, as seed 004 and universe-starter-agent)."""
    action_set: Optional[tuple] = None
    """indices into the game's action set that the policy chooses among (seed 003's reduced sets);
    None means all of them."""
    nstack: Optional[int] = None
    """frames stacked per observation; None means 4 for image observations and 1 otherwise."""
    noop_max: int = 30
    """up to this many no-op frames at the start of each Atari game."""
    seed: int = 0
    """seeds the weights, each worker's action sampling and each worker's env (worker i: seed + i)."""
    log_interval: int = 10_000
    """global steps between log rows."""
    save_interval: int = 200_000
    """global steps between checkpoints (and at the end and on Ctrl-C/SIGTERM)."""
    models_dir: str = "models"
    """checkpoints go to <models_dir>/a3c/<env_id>.save (+ .state for an exact resume)."""
    log_dir: Optional[str] = None
    """progress.csv, monitor.csv, TensorBoard events; None means logs/a3c/<env_id>."""

    def resolved(self, image_observations: bool) -> "A3CConfig":
        """A copy with the None defaults filled in (``image_observations``: the env gives frames)."""
        nstack = self.nstack if self.nstack is not None else (4 if image_observations else 1)
        threads = self.threads if self.threads is not None else default_threads()
        log_dir = self.log_dir or os.path.join("logs", "a3c", env_file_name(self.env_id))
        return dataclasses.replace(self, nstack=nstack, threads=threads, log_dir=log_dir)

    @property
    def save_path(self) -> str:
        return os.path.join(self.models_dir, "a3c", env_file_name(self.env_id) + ".save")


# Settings that do not change what a run learns: where it writes, how often, and how many workers share
# the work (a resume on another machine may use its own number of cores).
NOT_RUN_SETTINGS = ("threads", "models_dir", "log_dir", "log_interval", "save_interval")


def run_settings(config: A3CConfig) -> dict:
    """What an A3C checkpoint records of the run that wrote it, as JSON values (tuples become lists), so
    a resume can check it goes on the same way."""
    values = dataclasses.asdict(config)
    return json.loads(json.dumps({name: value for name, value in values.items() if name not in NOT_RUN_SETTINGS}))


def env_file_name(env_id: str) -> str:
    return env_id.replace("/", "_")
