"""The reproduction agents shipped in models/ are what the README says they are.

Each is a consistent pair (the ``.save`` holds the very weights its ``.state`` was written with), at
10M steps, and its ``.state`` records the settings of the command that trained it, so that command
resumes it (with ``--num-timesteps`` raised) and any other settings are refused with one line.
"""
import os

import numpy as np
import pytest

from a2c_tf1 import checkpoint
from a2c_tf1.agent import SETTINGS, WEIGHTS_FINGERPRINT, decode_settings
from a2c_tf1.cli import build_parser, config_from_args, run_settings
from a2c_tf1.config import TrainConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# EnvId -> the run_breakout.py flags of its reproduction run (docs/reproduction/EXPERIMENTS.md)
SHIPPED = {
    "BreakoutNoFrameskip-v4": [],
    "PongNoFrameskip-v4": ["--preset", "pong"],
    "SpaceInvadersNoFrameskip-v4": ["--env", "SpaceInvadersNoFrameskip-v4"],
}


@pytest.mark.parametrize("env_id", sorted(SHIPPED))
def test_shipped_agent_is_a_consistent_10m_pair_that_records_its_command(env_id):
    save = os.path.join(ROOT, "models", f"{env_id}.save")
    weights = checkpoint.load_params(save)
    state = checkpoint.load_params(save + ".state")
    assert isinstance(weights, list) and len(weights) == 12  # the seed's format: arrays in variable order
    np.testing.assert_array_equal(checkpoint.fingerprint([np.asarray(w, np.float32) for w in weights]),
                                  state[WEIGHTS_FINGERPRINT])
    assert int(state["timestep"]) == 10_000_000
    config = config_from_args(build_parser("run_breakout.py").parse_args(SHIPPED[env_id]))
    assert config.env_id == env_id
    recorded, now = decode_settings(state[SETTINGS], save + ".state"), run_settings(config)
    assert recorded == {name: value for name, value in now.items() if name in recorded}
    # Settings added since the run hold their defaults, which is what the run used (resume compares the rest).
    defaults = run_settings(TrainConfig().resolved())
    assert set(recorded) <= set(now) and all(now[name] == defaults[name] for name in set(now) - set(recorded))
