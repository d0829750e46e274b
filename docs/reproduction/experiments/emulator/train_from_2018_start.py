"""Train A2C on SpaceInvaders from the 2018 emulator's game start: ``run_breakout.py``'s command line,
run on the gymnasium stack (baselines' wrappers over ale-py's ``AtariEnv``), with RAM bytes 90 and 106
written to 233 after every emulator reset, before the no-op starts.

atari-py 0.1.4, which played baselines' published runs, starts every SpaceInvaders game with those two
bytes at 233 where ale-py 0.11.2 has 21, and that is the only difference between the two emulators on
this game (``emulator_trace.py``; EXPERIMENTS.md, "The 2018 emulator"). The C++ vector env of the fast
path cannot write RAM, so this runs the gymnasium stack.

    python docs/reproduction/experiments/emulator/train_from_2018_start.py --check
    python docs/reproduction/experiments/emulator/train_from_2018_start.py \\
        --env SpaceInvadersNoFrameskip-v4 --env-stack gymnasium \\
        --models-dir models/si_start2018 --log-dir docs/reproduction/experiments/SpaceInvaders_start2018_s0

``--check`` plays 4,000 frames of random actions on a patched env and says whether every game started
from the 2018 state. The same training command resumes a stopped run.
"""
from __future__ import annotations

import os
import sys

import ale_py.env
import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")))  # the repo

# The 2018 emulator's SpaceInvaders game start (atari-py 0.1.4; ale-py 0.11.2 has 21 in both).
START_2018 = {90: 233, 106: 233}
GAME = "space_invaders"

_ale_reset = ale_py.env.AtariEnv.reset


def reset_from_2018_start(self, *args, **kwargs):
    """ale-py's reset, then the 2018 start state (SpaceInvaders only); the frame on screen is unchanged
    until the next emulated frame, so the returned observation stands."""
    obs, info = _ale_reset(self, *args, **kwargs)
    if self._game == GAME:
        for index, value in START_2018.items():
            self.ale.setRAM(index, value)
    return obs, info


def check(frames: int = 4000) -> int:
    env = ale_py.env.AtariEnv(game=GAME, frameskip=1, repeat_action_probability=0.0)
    rng = np.random.RandomState(0)
    env.reset(seed=0)
    starts, good = 0, 0
    fresh = True
    for _ in range(frames):
        if fresh:
            ram = env.unwrapped.ale.getRAM()
            starts += 1
            good += all(int(ram[i]) == v for i, v in START_2018.items())
            fresh = False
        _, _, terminated, truncated, _ = env.step(int(rng.randint(env.action_space.n)))
        if terminated or truncated:
            env.reset()
            fresh = True
    env.close()
    print(f"{good} of {starts} game starts from the 2018 state")
    return 0 if good == starts else 1


def main(argv: list[str]) -> int:
    ale_py.env.AtariEnv.reset = reset_from_2018_start
    if argv[:1] == ["--check"]:
        return check()
    if "--env-stack" not in argv or argv[argv.index("--env-stack") + 1] != "gymnasium":
        print("this experiment needs --env-stack gymnasium (the C++ vector env cannot write RAM)", file=sys.stderr)
        return 2
    from a2c_tf1.cli import main as train

    return train(argv, prog="train_from_2018_start.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
