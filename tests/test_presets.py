"""Every preset builds its graph and takes two updates on its real game; seed 002's frames are 42x42."""
import io

import cv2
import numpy as np
import pytest

from a2c_tf1.agent import Agent
from a2c_tf1.cli import build_parser, config_from_args, CliError
from a2c_tf1.config import PRESETS, TrainConfig
from a2c_tf1.envs import make_vec_env
from a2c_tf1.envs.atari import make_kungfu42_env
from a2c_tf1.logger import Logger
from a2c_tf1.policies import POLICIES
from a2c_tf1.train import learn


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_takes_two_updates_on_its_game(name, tmp_path):
    config = TrainConfig(**PRESETS[name].overrides).resolved()
    env = make_vec_env(config.env_id, config.nenvs, config.seed, frame=config.frame)
    agent = Agent(POLICIES[config.policy], env.observation_space, env.action_space, config.nenvs, config.nsteps,
                  config.nstack, vf_coef=config.vf_coef, lr=config.lr, lrschedule=config.lrschedule,
                  total_timesteps=config.num_timesteps, optimizer=config.optimizer, baselines=config.baselines)
    before = agent.get_params()
    nbatch = config.nenvs * config.nsteps
    logger = Logger(str(tmp_path), stream=io.StringIO(), tensorboard=False)
    assert learn(agent, env, 2 * nbatch, logger, nsteps=config.nsteps, nstack=config.nstack, log_interval=1) == 2 * nbatch
    logger.close()
    env.close()
    assert any(not np.array_equal(a, b) for a, b in zip(before, agent.get_params()))
    rows = (tmp_path / "progress.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[-1].split(",")[1] == str(2 * nbatch)


def test_kungfu_frames_are_the_42x42_crop():
    env = make_kungfu42_env("KungFuMasterNoFrameskip-v4", seed=0, noop_max=0)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (42, 42, 1) and obs.dtype == np.uint8
    screen = env.unwrapped.ale.getScreenGrayscale()  # [210, 160]
    expected = cv2.resize(np.ascontiguousarray(screen[60:-30, 5:]), (42, 42), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(obs[:, :, 0], expected)
    env.close()



def test_flags_override_a_preset_and_unknown_presets_name_the_known_ones():
    config = config_from_args(build_parser("x").parse_args(["--preset", "spaceinvaders", "--nenvs", "4"]))
    assert (config.env_id, config.nenvs, config.vf_coef) == ("SpaceInvadersNoFrameskip-v4", 4, 0.25)
    with pytest.raises(CliError, match="known presets: breakout, breakout-2017, pong, spaceinvaders"):
        config_from_args(build_parser("x").parse_args(["--preset", "seaquest"]))
