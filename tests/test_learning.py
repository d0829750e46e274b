"""Short real training runs that must show learning."""
import io

import numpy as np

from a2c_tf1 import Agent, learn
from a2c_tf1.config import PRESETS, TrainConfig
from a2c_tf1.envs import make_vec_env
from a2c_tf1.logger import Logger
from a2c_tf1.policies import MlpPolicy


def test_cartpole_mlp_reaches_195_within_150k_steps(tmp_path):
    config = TrainConfig(**PRESETS["cartpole"].overrides).resolved()
    assert config.num_timesteps == 150_000
    monitor = tmp_path / "monitor.csv"
    env = make_vec_env(config.env_id, config.nenvs, seed=0)
    agent = Agent(MlpPolicy, env.observation_space, env.action_space, config.nenvs, config.nsteps, config.nstack,
                  lr=config.lr, lrschedule=config.lrschedule, total_timesteps=config.num_timesteps, seed=0)
    logger = Logger(str(tmp_path), stream=io.StringIO(), tensorboard=False)
    learn(agent, env, config.num_timesteps, logger, nsteps=config.nsteps, nstack=config.nstack, log_interval=1000)
    logger.close()
    env.close()
    returns = np.loadtxt(monitor, delimiter=",", skiprows=2)[:, 0]
    assert len(returns) > 100
    assert returns[:20].mean() < 50, "should start near random play (~22)"
    assert returns[-20:].mean() >= 195, f"last-20 mean {returns[-20:].mean():.1f}"
