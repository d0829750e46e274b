"""Long runs, excluded by default: ``python -m pytest -m slow``."""
import csv
import io
import subprocess
import sys
import time

import numpy as np
import pytest

from a2c_tf1 import Agent, learn
from a2c_tf1.envs import make_vec_env
from a2c_tf1.logger import Logger
from a2c_tf1.compare import last_100_mean
from a2c_tf1.plot import read_scores
from a2c_tf1.policies import CnnPolicy
from a2c_tf1.reference import published_score


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


@pytest.mark.slow
def test_default_settings_keep_up_with_the_published_breakout_curve(tmp_path):
    """The default command (baselines' 2018 code, 8 envs, serving, 10M schedule) stopped at 1.4M steps
    (about 40 minutes on 2 cores): its last-100 mean is no lower than the published curve 0.2M steps
    earlier (4.3 at 1.2M). The reproduction run (docs/reproduction/EXPERIMENTS.md, run G) had 8.60 at 1.4M."""
    command = [sys.executable, "run_breakout.py", "--models-dir", str(tmp_path / "m"), "--log-dir", str(tmp_path)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 3 * 3600
        while time.time() < deadline and proc.poll() is None:
            time.sleep(30)
            steps, _ = read_scores(str(tmp_path)) if (tmp_path / "monitor.csv").exists() else (np.zeros(0), None)
            if len(steps) and steps[-1] >= 1_400_000:
                break
        assert proc.poll() is None, "training stopped early"
    finally:
        proc.kill()
        proc.wait(timeout=60)
    steps, scores = read_scores(str(tmp_path))
    assert steps[-1] >= 1_400_000, "did not reach 1.4M steps within 3 hours"
    assert last_100_mean(steps, scores, 1_400_000) >= published_score("Breakout", 1_200_000)
