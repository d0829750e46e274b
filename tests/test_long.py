"""Long runs, excluded by default: ``python -m pytest -m slow``."""
import csv
import io

import numpy as np
import pytest

from a2c_tf1 import Agent, learn
from a2c_tf1.envs import make_vec_env
from a2c_tf1.logger import Logger
from a2c_tf1.policies import CnnPolicy


@pytest.mark.slow
def test_breakout_critic_learns_and_entropy_falls_within_600k_steps(tmp_path):
    """Baselines' settings on real Breakout (about 10 minutes on 2 cores): by 600k steps the critic
    explains most of the return variance and the policy is no longer uniform."""
    steps = 600_000
    env = make_vec_env("BreakoutNoFrameskip-v4", 16, seed=0)
    agent = Agent(CnnPolicy, env.observation_space, env.action_space, 16, 5, 4, total_timesteps=10_000_000)
    logger = Logger(str(tmp_path), stream=io.StringIO(), tensorboard=False)
    learn(agent, env, steps, logger, log_interval=100)
    logger.close()
    env.close()
    rows = list(csv.DictReader(open(tmp_path / "progress.csv")))
    last = rows[-10:]
    assert np.mean([float(r["explained_variance"]) for r in last]) > 0.5
    assert np.mean([float(r["policy_entropy"]) for r in last]) < np.log(4) - 0.01
