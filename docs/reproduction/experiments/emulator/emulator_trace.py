"""Does the Atari emulator behind baselines' published runs (atari-py, 2018) play SpaceInvaders exactly as
the ale-py of this package does?

``record`` plays one fixed action sequence (each choice held for 4 frames, as frame skip does) frame by
frame on whichever emulator the running interpreter has, resetting after every game over, and saves per
frame the 128 bytes of console RAM, an MD5 of the RGB screen, the reward, the lives and the game-over
flag. ``compare`` says, for two such traces, on how many frames each of those agrees.

    # in an environment with atari-py (built from source: pip install atari-py==0.1.4; its ROM is bundled)
    python emulator_trace.py record --ale atari_py --game space_invaders -o atari_py.npz
    # in this package's environment (ale-py)
    python emulator_trace.py record --ale ale_py --game space_invaders -o ale_py.npz
    python emulator_trace.py compare atari_py.npz ale_py.npz
    python emulator_trace.py scores atari_py.npz --against ale_py.npz   # random play's scores
"""
from __future__ import annotations

import argparse
import hashlib

import numpy as np


def open_emulator(which: str, game: str, rom: str | None):
    """(ALE interface, ROM path) with sticky actions off, as the NoFrameskip-v4 games have."""
    if which == "atari_py":
        import atari_py

        ale = atari_py.ALEInterface()
        ale.setInt(b"random_seed", 0)
        ale.setFloat(b"repeat_action_probability", 0.0)
        path = rom or atari_py.get_game_path(game)
        ale.loadROM(path.encode())
    else:
        import ale_py
        from ale_py import roms

        ale = ale_py.ALEInterface()
        ale.setLoggerMode(ale_py.LoggerMode.Error)
        ale.setInt("random_seed", 0)
        ale.setFloat("repeat_action_probability", 0.0)
        path = rom or str(roms.get_rom_path(game))
        ale.loadROM(path)
    return ale, path


def record(which: str, game: str, rom: str | None, frames: int, out: str, seed: int = 0,
           set_ram: dict[int, int] | None = None) -> None:
    ale, path = open_emulator(which, game, rom)

    def start() -> None:  # RAM bytes written at every game start (ale-py only)
        for index, value in (set_ram or {}).items():
            ale.setRAM(index, value)

    start()
    with open(path, "rb") as f:
        print(f"{which}: ROM {path}, md5 {hashlib.md5(f.read()).hexdigest()}")
    actions = [int(a) for a in ale.getMinimalActionSet()]
    choices = np.random.RandomState(seed).randint(len(actions), size=frames // 4 + 1)
    ram = np.zeros((frames, 128), np.uint8)
    screen, reward = [], np.zeros(frames, np.int64)
    lives, over = np.zeros(frames, np.int64), np.zeros(frames, bool)
    for t in range(frames):
        reward[t] = ale.act(actions[choices[t // 4]])
        ram[t] = np.asarray(ale.getRAM(), np.uint8)
        screen.append(hashlib.md5(np.asarray(ale.getScreenRGB()).tobytes()).hexdigest())
        lives[t], over[t] = ale.lives(), ale.game_over()
        if over[t]:
            ale.reset_game()
            start()
    np.savez_compressed(out, ram=ram, screen=np.array(screen), reward=reward, lives=lives, over=over,
                        actions=np.array(actions))
    print(f"{frames} frames, {int(over.sum())} games, total reward {int(reward.sum())} -> {out}")


def compare(first: str, second: str) -> None:
    a, b = np.load(first), np.load(second)
    for key in ("actions", "ram", "screen", "reward", "lives", "over"):
        x, y = a[key], b[key]
        if key == "actions" or x.shape != y.shape:
            print(f"{key}: {'same' if np.array_equal(x, y) else f'differ: {x} vs {y}'}")
            continue
        equal = (x == y).reshape(len(x), -1).all(axis=1)
        first_diff = np.flatnonzero(~equal)
        where = f", first difference at frame {first_diff[0]}" if len(first_diff) else ""
        print(f"{key}: equal on {int(equal.sum())} of {len(equal)} frames{where}")
    print(f"games: {int(a['over'].sum())} and {int(b['over'].sum())}; "
          f"total reward: {int(a['reward'].sum())} and {int(b['reward'].sum())}")


def game_scores(paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(score, frames) of every whole game in the traces."""
    scores, lengths = [], []
    for path in paths:
        trace = np.load(path)
        ends = np.flatnonzero(trace["over"])
        starts = np.r_[0, ends[:-1] + 1]
        scores += [trace["reward"][s:e + 1].sum() for s, e in zip(starts, ends)]
        lengths += list(ends - starts + 1)
    return np.array(scores, float), np.array(lengths, float)


def scores(first: list[str], second: list[str]) -> None:
    """Random play's game scores and lengths on each side, and the difference in standard errors."""
    sides = {"first": game_scores(first), "second": game_scores(second)}
    for name, (score, length) in sides.items():
        print(f"{name}: {len(score)} games, score {score.mean():.1f} ± {score.std() / np.sqrt(len(score)):.1f} "
              f"(sd {score.std():.1f}), frames per game {length.mean():.0f} ± {length.std() / np.sqrt(len(length)):.0f}")
    for i, what in ((0, "score"), (1, "frames per game")):
        a, b = sides["first"][i], sides["second"][i]
        diff, se = a.mean() - b.mean(), np.sqrt(a.var() / len(a) + b.var() / len(b))
        print(f"{what}: first - second = {diff:.1f} ({diff / se:.2f} standard errors)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--ale", choices=("atari_py", "ale_py"), required=True)
    rec.add_argument("--game", default="space_invaders")
    rec.add_argument("--rom", default=None, help="a ROM file instead of the emulator's own")
    rec.add_argument("--frames", type=int, default=60_000)
    rec.add_argument("--seed", type=int, default=0, help="of the random action sequence")
    rec.add_argument("--set-ram", default="", help="ale-py: INDEX=VALUE,... written into RAM at every game start")
    rec.add_argument("-o", "--out", required=True)
    cmp = sub.add_parser("compare")
    cmp.add_argument("first")
    cmp.add_argument("second")
    sco = sub.add_parser("scores", help="random play's game scores: FIRST... against SECOND...")
    sco.add_argument("first", nargs="+")
    sco.add_argument("--against", nargs="+", required=True)
    args = parser.parse_args()
    if args.command == "record":
        set_ram = dict(tuple(map(int, item.split("="))) for item in args.set_ram.split(",") if item)
        record(args.ale, args.game, args.rom, args.frames, args.out, args.seed, set_ram)
    elif args.command == "scores":
        scores(args.first, args.against)
    else:
        compare(args.first, args.second)


if __name__ == "__main__":
    main()
