"""Training configuration with baselines' A2C defaults, and named presets."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional


OPTIMIZERS = ("rmsprop", "adam")
# The policies' names; their classes live in a2c_tf1.policies, which imports TensorFlow (seconds), so a
# bad --policy or a policy that cannot read the env's observations is refused before that import.
POLICY_NAMES = ("cnn", "cnn-2013", "mlp", "lstm", "lnlstm", "small-lstm")
# The policies whose trunk is a convolution and so reads image observations only.
IMAGE_ONLY_POLICIES = frozenset({"cnn", "cnn-2013", "small-lstm"})


def image_policy_error(policy: str, env_id: str, ob_shape: tuple, image_only=IMAGE_ONLY_POLICIES) -> Optional[str]:
    """The one-line error when ``policy`` (one of ``image_only``) meets observations of ``ob_shape`` that are
    not images (height, width, channels); None when it can read them."""
    if policy in image_only and len(ob_shape) != 3:
        return (f"the {policy} policy needs image observations but {env_id} gives shape {ob_shape}; "
                "use --policy mlp or lstm")
    return None


@dataclass(frozen=True)
class Generation:
    """What differs between baselines' A2C code generations (same graph, same checkpoint format)."""

    value_loss_halved: bool
    """2017: ``mean((V - R)^2 / 2)``; 2018: ``mean((V - R)^2)`` (with vf_coef 0.5 the value loss weighs twice as much)."""
    pi_init_scale: float
    """orthogonal init scale of the policy head: 1.0 in 2017, 0.01 in 2018."""


GENERATIONS: dict[str, Generation] = {
    # baselines' a2c of Aug-Oct 2017 (run_atari.py, the seed).
    "2017": Generation(value_loss_halved=True, pi_init_scale=1.0),
    # baselines at ea68f3b (2018-08), which made the published benchmark curves (run.py, build_policy).
    "2018": Generation(value_loss_halved=False, pi_init_scale=0.01),
}


@dataclass
class TrainConfig:
    env_id: str = "BreakoutNoFrameskip-v4"
    """gymnasium id; ALE ids (``*NoFrameskip-v4``, ``ALE/*-v5``) run on ale-py's C++ vector env."""
    policy: str = "cnn"
    """cnn (Nature CNN), mlp (two tanh layers of 64), lstm or lnlstm (the CNN, or the MLP for vector
    observations, then an LSTM of 256, plain or layer-normalised)."""
    num_timesteps: int = 10_000_000
    """environment steps (agent decisions); 10M steps = 40M Atari frames, baselines' budget."""
    nenvs: int = 8
    """parallel environments. With the 2018 code, 8 follows baselines' published Breakout curve and 4 runs
    ahead of it (docs/reproduction/EXPERIMENTS.md); baselines' 2017 run_atari used 16, which learns Breakout
    1-2M steps later (preset breakout-2017)."""
    nsteps: int = 5
    """steps per env per update, so a batch is nenvs * nsteps."""
    nstack: Optional[int] = None
    """frames stacked per observation; None means 1 for mlp and 4 for the others (baselines)."""
    seed: int = 0
    """seeds the weights, the action sampling and the envs (env i gets seed + i)."""
    lr: float = 7e-4
    """initial RMSProp learning rate."""
    lrschedule: str = "linear"
    """how lr decays over num_timesteps: constant, linear, middle_drop, double_linear_con, double_middle_drop."""
    gamma: float = 0.99
    """discount factor."""
    ent_coef: float = 0.01
    """weight of the entropy bonus."""
    vf_coef: float = 0.5
    """weight of the value loss (which already carries baselines' 1/2)."""
    max_grad_norm: float = 0.5
    """gradients are clipped to this global norm."""
    alpha: float = 0.99
    """RMSProp decay."""
    epsilon: float = 1e-5
    """RMSProp epsilon (inside the square root, as in TF1)."""
    optimizer: str = "rmsprop"
    """rmsprop (baselines: decay alpha, epsilon) or adam (TF1 defaults besides lr)."""
    baselines: str = "2018"
    """baselines code generation: 2018 (value loss without /2, policy head init 0.01: the code behind the
    published curves) or 2017 (value loss /2, policy head init 1.0: the seed's)."""
    serve: bool = True
    """Atari games whose action 1 is FIRE get FIRE added to the first action of every life (baselines served
    after every life loss); False leaves serving to the agent."""
    frame: str = "nature"
    """Atari frames: nature (84x84 of the screen) or kungfu42 (seed 002: 42x42 of img[60:-30, 5:])."""
    env_stack: str = "ale"
    """Atari envs: ale (ale-py's C++ vector env, fast) or gymnasium (baselines' wrapper stack in gymnasium,
    one env after another, with FireReset's hidden FIRE and RIGHT after every reset: a yardstick, slower)."""
    noop_max: int = 30
    """up to this many no-op frames at the start of each Atari game."""
    log_interval: int = 100
    """updates between log rows (baselines: 100)."""
    save_interval: int = 1000
    """updates between checkpoints (and at the end, on Ctrl-C)."""
    models_dir: str = "models"
    """checkpoints go to <models_dir>/<env_id>.save (+ .state for exact resume)."""
    log_dir: Optional[str] = None
    """progress.csv, monitor.csv and TensorBoard events; None means logs/<env_id>."""

    def resolved(self) -> "TrainConfig":
        """A copy with the None defaults filled in."""
        nstack = self.nstack if self.nstack is not None else (1 if self.policy == "mlp" else 4)
        log_dir = self.log_dir or f"logs/{self.env_id.replace('/', '_')}"
        return dataclasses.replace(self, nstack=nstack, log_dir=log_dir)

    @property
    def save_path(self) -> str:
        import os

        return os.path.join(self.models_dir, self.env_id.replace("/", "_") + ".save")


@dataclass(frozen=True)
class Preset:
    description: str
    overrides: dict


PRESETS: dict[str, Preset] = {
    "breakout": Preset("Breakout with the settings that reproduce baselines' published curve: 2018 code, 8 envs "
                       "(published ~290 at 10M steps)", {}),
    "breakout-2017": Preset("Breakout as baselines' 2017 run_atari (the seed): 2017 code, 16 envs",
                            {"nenvs": 16, "baselines": "2017"}),
    "pong": Preset("Pong, the breakout preset's settings (published ~18.7 at 10M steps)", {"env_id": "PongNoFrameskip-v4"}),
    "spaceinvaders": Preset(
        "SpaceInvaders as seed 001: 8 envs, vf_coef 0.25, lr 7e-4 linear, RMSProp .99/1e-5 (target ~600 at 10M)",
        {"env_id": "SpaceInvadersNoFrameskip-v4", "nenvs": 8, "vf_coef": 0.25, "baselines": "2017"}),
    "assault": Preset("Assault, the breakout preset's settings (seed 003's game list)", {"env_id": "AssaultNoFrameskip-v4"}),
    "beamrider": Preset("BeamRider, the breakout preset's settings (published ~2469 at 10M steps)",
                        {"env_id": "BeamRiderNoFrameskip-v4"}),
    # Seed 002 ran 5 games, rollouts of 10 and Adam, and weighed the squared TD error by 1; our value
    # loss carries baselines' /2, so vf_coef 2.0 gives the seed's weight.
    "kungfu-lstm": Preset(
        "KungFuMaster as seed 002: 42x42 crop, 4 frames, ELU convs + LSTM 256, rollouts of 10, Adam (target >= 10,000)",
        {"env_id": "KungFuMasterNoFrameskip-v4", "policy": "small-lstm", "frame": "kungfu42", "nenvs": 5,
         "nsteps": 10, "optimizer": "adam", "lr": 1e-3, "lrschedule": "constant", "vf_coef": 2.0, "baselines": "2017"}),
    "cartpole": Preset("CartPole-v1 with the MLP policy; last-20 mean >= 195 within 150k steps",
                       {"env_id": "CartPole-v1", "policy": "mlp", "nenvs": 8, "num_timesteps": 150_000, "baselines": "2017",
                        "lr": 2e-3, "lrschedule": "constant", "log_interval": 250, "save_interval": 1000}),
}
