"""Named A3C settings: seed 003's five games, seed 004's LSTM CartPole, the A3C paper's Atari settings."""
from __future__ import annotations

from a2c_tf1.config import Preset

# Seed 003 (threads, two towers, Adam): gamma 0.99, t_max 20, up to 30 no-op starts, lr 1e-3 divided by
# log10(0.01 * episodes + 10) of the global episode count, entropy 0.01, clip 40, one worker per core.
# Its action tables index the game's action set; the first action_size entries are the ones it used.
_SEED_003 = {"policy": "two-tower", "t_max": 20, "optimizer": "adam", "lr": 1e-3, "lrschedule": "episode-log",
             "num_timesteps": 20_000_000, "log_interval": 20_000, "save_interval": 200_000}


def _seed_003(env_id: str, actions: tuple) -> dict:
    return {**_SEED_003, "env_id": env_id, "action_set": actions}


PRESETS: dict[str, Preset] = {
    "a3c-breakout": Preset(
        "seed 003 on Breakout: two towers, Adam 1e-3/log10(0.01 x episodes + 10), t_max 20; actions FIRE, RIGHT, LEFT",
        _seed_003("BreakoutNoFrameskip-v4", (1, 2, 3))),
    "a3c-spaceinvaders": Preset(
        "seed 003 on SpaceInvaders: 5 actions FIRE, RIGHT, LEFT, RIGHTFIRE, LEFTFIRE",
        _seed_003("SpaceInvadersNoFrameskip-v4", (1, 2, 3, 4, 5))),
    "a3c-pong": Preset(
        "seed 003 on Pong: 5 actions FIRE, RIGHT, LEFT, RIGHTFIRE, LEFTFIRE",
        _seed_003("PongNoFrameskip-v4", (1, 2, 3, 4, 5))),
    "a3c-assault": Preset(
        "seed 003 on Assault: 6 actions FIRE, UP, RIGHT, LEFT, RIGHTFIRE, LEFTFIRE",
        _seed_003("AssaultNoFrameskip-v4", (1, 2, 3, 4, 5, 6))),
    "a3c-beamrider": Preset(
        "seed 003 on BeamRider: 8 actions FIRE, UP, RIGHT, LEFT, UPRIGHT, UPLEFT, RIGHTFIRE, LEFTFIRE",
        _seed_003("BeamRiderNoFrameskip-v4", (1, 2, 3, 4, 5, 6, 7, 8))),
    "a3c-lstm-cartpole": Preset(
        "seed 004: CartPole-v1, LSTM 256, GAE lambda 1, rollouts of 30, Adam, normc heads 0.01/1.0, clip 40",
        {"env_id": "CartPole-v1", "policy": "lstm", "t_max": 30, "optimizer": "adam", "lr": 1e-3,
         "lrschedule": "constant", "head_init": "normc", "gae_lambda": 1.0, "num_timesteps": 300_000,
         "log_interval": 5_000, "save_interval": 50_000}),
    "a3c-cartpole": Preset(
        "CartPole-v1 with the MLP policy (the defaults for non-Atari envs): t_max 20, Adam 1e-3",
        {"env_id": "CartPole-v1", "policy": "mlp", "t_max": 20, "optimizer": "adam", "lr": 1e-3,
         "lrschedule": "constant", "num_timesteps": 300_000, "log_interval": 5_000, "save_interval": 50_000}),
    "a3c-atari": Preset(
        "the A3C paper's Atari settings for any ALE id (--env): its 2013 DQN net, 16 workers, t_max 5, "
        "shared RMSProp (decay 0.99, eps 0.1), lr 7e-4 linear to 0, clip 40",
        {"threads": 16, "policy": "cnn-2013"}),
}

# Without --preset, ALE ids get a3c-atari's settings and other ids a3c-cartpole's (one worker per core).
ATARI_BASE = "a3c-atari"
VECTOR_BASE = "a3c-cartpole"
