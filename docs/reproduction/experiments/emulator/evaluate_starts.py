"""Play trained SpaceInvaders agents from today's game start and from the 2018 emulator's, same env otherwise.

A cheaper question than training from the 2018 start (``train_from_2018_start.py``): does a fixed agent
score differently when every game starts from atari-py 0.1.4's state (RAM bytes 90 and 106 at 233) instead
of ale-py 0.11.2's (21)? Both starts play the evaluation env of ``run_breakout.py --evaluate`` (baselines'
wrappers over ale-py's ``AtariEnv``, serving, no-op starts, raw scores) with sampled actions, so the two
bytes are the only difference. Each game's score goes to a CSV; the table gives each start's mean and
standard error per checkpoint and over all games.

    python docs/reproduction/experiments/emulator/evaluate_starts.py --games 50 \\
        --out docs/reproduction/experiments/emulator/evaluate_starts.csv \\
        models/SpaceInvadersNoFrameskip-v4.save models/seed1/SpaceInvadersNoFrameskip-v4.save \\
        models/seed2/SpaceInvadersNoFrameskip-v4.save

A stopped run resumes: the games already in the CSV are kept and not played again.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import sys
import tempfile

import ale_py.env
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..", "..")))  # the repo
sys.path.insert(0, HERE)

from train_from_2018_start import reset_from_2018_start  # noqa: E402

ENV_ID = "SpaceInvadersNoFrameskip-v4"
RESETS = {"today": ale_py.env.AtariEnv.reset, "2018": reset_from_2018_start}
FIELDS = ["checkpoint", "start", "game", "score", "length"]


def played(out: str) -> list[dict]:
    if not os.path.exists(out):
        return []
    with open(out, newline="") as f:
        return list(csv.DictReader(f))


def write_rows(out: str, rows: list[dict]) -> None:
    """Every game so far, written atomically: a kill leaves the previous complete CSV."""
    from a2c_tf1.files import atomic_output

    with atomic_output(out) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def play(checkpoint: str, start: str, games: int, seed: int) -> tuple[list[float], list[int]]:
    """``games`` full games of the agent in ``checkpoint`` from ``start``'s game state: (scores, lengths).

    ``run_breakout.py --evaluate --scores`` plays them, in this process so that the patched reset holds.
    """
    from a2c_tf1.cli import main as run_breakout

    ale_py.env.AtariEnv.reset = RESETS[start]
    if os.path.basename(checkpoint) != ENV_ID + ".save":
        raise SystemExit(f"{checkpoint}: run_breakout.py loads <models-dir>/{ENV_ID}.save; rename it so")
    with tempfile.TemporaryDirectory() as folder:
        games_csv = os.path.join(folder, "games.csv")
        with contextlib.redirect_stdout(io.StringIO()):
            code = run_breakout(["--env", ENV_ID, "--models-dir", os.path.dirname(checkpoint) or ".", "--seed",
                                 str(seed), "--evaluate", "--episodes", str(games), "--scores", games_csv])
        if code != 0:
            raise SystemExit(f"run_breakout.py --evaluate failed on {checkpoint} (exit {code})")
        with open(games_csv, newline="") as f:
            rows = list(csv.DictReader(f))
    return [float(r["score"]) for r in rows], [int(r["length"]) for r in rows]


def summary(rows: list[dict]) -> str:
    lines = ["| checkpoint | today's start | 2018 start | 2018 - today |", "| --- | --- | --- | --- |"]
    groups = sorted({r["checkpoint"] for r in rows}) + ["all"]
    for group in groups:
        stats = {}
        for start in RESETS:
            scores = np.array([float(r["score"]) for r in rows
                               if r["start"] == start and group in ("all", r["checkpoint"])])
            if len(scores) > 1:
                stats[start] = (scores.mean(), scores.std(ddof=1) / np.sqrt(len(scores)), len(scores))
        if len(stats) < 2:
            continue
        (m0, s0, n0), (m1, s1, n1) = stats["today"], stats["2018"]
        lines.append(f"| {group} | {m0:.1f} ± {s0:.1f} ({n0} games) | {m1:.1f} ± {s1:.1f} ({n1} games) | "
                     f"{m1 - m0:+.1f} ± {np.hypot(s0, s1):.1f} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--games", type=int, default=50, help="games per checkpoint and start")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="CSV of every game (kept and extended on a rerun)")
    args = parser.parse_args(argv)
    rows = played(args.out)
    for checkpoint in args.checkpoints:
        for start in RESETS:
            done = sum(r["checkpoint"] == checkpoint and r["start"] == start for r in rows)
            if done >= args.games:
                continue
            # A rerun plays the missing games with another seed, so no game is a replay of a kept one.
            scores, lengths = play(checkpoint, start, args.games - done, args.seed + done)
            new = [{"checkpoint": checkpoint, "start": start, "game": done + i, "score": s, "length": n}
                   for i, (s, n) in enumerate(zip(scores, lengths))]
            rows += new
            write_rows(args.out, rows)
            print(f"{checkpoint} from {start}'s start: {np.mean(scores):.1f} over {len(scores)} games", flush=True)
    print(summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
