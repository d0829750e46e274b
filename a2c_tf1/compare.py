"""Runs against baselines' published curve at the same steps: ``python -m a2c_tf1.compare LOG_DIR... [--at 1e6,2e6]``.

Prints one markdown table: for every run folder (``progress.csv`` + ``monitor.csv``), the mean raw score of
the last 100 games finished by each step, with the published 6-seed mean beside it, and the policy entropy
and fps of the log row at that step. A cell is blank where the run has not reached the step. With
``--mean``, a last row holds the mean over the runs (seeds) at each step every run has reached, the
figure the published mean of 6 seeds compares with, and its standard error over the runs (``std(ddof=1) /
sqrt(n)``), which says how far from the published value seed luck alone could put it.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

import numpy as np

from a2c_tf1 import reference
from a2c_tf1.plot import read_env_id, read_progress, read_scores

DEFAULT_STEPS = (1_000_000, 1_500_000, 2_000_000, 3_000_000, 5_000_000, 10_000_000)


def last_100_mean(steps: np.ndarray, scores: np.ndarray, at: float, window: int = 100) -> Optional[float]:
    """Mean of the last ``window`` scores among games that ended at or before step ``at`` (None if none).

    Args:
        steps: ``[ngames]`` environment step at which each game ended, non-decreasing.
        scores: ``[ngames]`` raw game scores.
    """
    finished = int(np.searchsorted(steps, at, side="right"))
    if finished == 0:
        return None
    return float(np.mean(scores[max(finished - window, 0):finished]))


def row_at(progress: dict[str, np.ndarray], at: float) -> Optional[dict[str, float]]:
    """The last ``progress.csv`` row written at or before step ``at`` (None if the run has not got there)."""
    steps = progress["total_timesteps"]
    if steps[-1] < at:
        return None
    index = int(np.searchsorted(steps, at, side="right")) - 1
    return {key: float(column[index]) for key, column in progress.items()} if index >= 0 else None


def run_means(log_dir: str, at_steps: tuple[int, ...]) -> tuple[list[Optional[float]], Optional[dict]]:
    """One run's last-100 means at ``at_steps`` (None where it has not got there) and the log row at the
    last step it reached."""
    steps, scores = read_scores(log_dir)
    order = np.argsort(steps, kind="stable")
    steps, scores = steps[order], scores[order]
    progress = read_progress(log_dir)
    means, last_row = [], None
    for at in at_steps:
        row = row_at(progress, at)
        mean = last_100_mean(steps, scores, at) if row is not None else None
        means.append(mean)
        if mean is not None:
            last_row = row
    return means, last_row


def score_cells(means: list[Optional[float]], at_steps: tuple[int, ...], game: Optional[str],
                errors: Optional[list[Optional[float]]] = None) -> list[str]:
    """``score (published)`` cells, or ``score ± error (published)`` with ``errors``; blank where a mean is None."""
    errors = errors or [None] * len(means)
    return ["" if mean is None else
            f"{mean:.2f}" + (f" ± {error:.2f}" if error is not None else "")
            + (f" ({reference.published_score(game, at):.1f})" if game else "")
            for mean, error, at in zip(means, errors, at_steps)]


def mean_and_standard_error(values: list[float]) -> tuple[float, Optional[float]]:
    """Mean over runs and its standard error, ``std(ddof=1) / sqrt(n)`` (None for a single run)."""
    values = np.asarray(values, dtype=float)
    error = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None
    return float(values.mean()), error


def comparison_table(log_dirs: list[str], at_steps: tuple[int, ...] = DEFAULT_STEPS,
                     game: Optional[str] = None, mean_row: bool = False) -> str:
    """Markdown table of the runs' last-100 means at ``at_steps`` beside the published curve of ``game``
    (taken from the first run's env id when not given; no published column for a game without a curve).
    ``mean_row`` adds the mean over the runs, ± its standard error, at each step all of them have reached."""
    if game is None:
        env_id = read_env_id(log_dirs[0])
        name = reference.game_of(env_id) if env_id else None
        game = reference.canonical_game(name) if name and name.lower() in map(str.lower, reference.games()) else None
    else:
        game = reference.canonical_game(game)
    header = ["run"] + [f"{at / 1e6:g}M" for at in at_steps] + ["entropy", "fps"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    every_run = []
    for log_dir in log_dirs:
        means, last_row = run_means(log_dir, at_steps)
        every_run.append(means)
        tail = ["", ""] if last_row is None else [f"{last_row['policy_entropy']:.2f}", f"{last_row['fps']:.0f}"]
        lines.append("| " + " | ".join([log_dir] + score_cells(means, at_steps, game) + tail) + " |")
    if mean_row:
        columns = [(None, None) if any(m is None for m in column) else mean_and_standard_error(column)
                   for column in zip(*every_run)]
        label = f"**mean of {len(log_dirs)} runs** (± standard error)"
        cells = score_cells([m for m, _ in columns], at_steps, game, [e for _, e in columns])
        lines.append("| " + " | ".join([label] + cells + ["", ""]) + " |")
    note = f"last-100 mean of raw game scores (baselines' published {game} curve in brackets)" if game \
        else "last-100 mean of raw game scores"
    return note + "\n\n" + "\n".join(lines)


def _steps(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(float(part)) for part in text.split(","))
    except (ValueError, OverflowError):  # OverflowError: inf
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of steps (e.g. 1e6,2e6)") from None
    if any(not 0 < v <= reference.PUBLISHED_STEPS for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: steps must lie in 1..{reference.PUBLISHED_STEPS:,}")
    return values


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a2c_tf1.compare", description=__doc__.splitlines()[0])
    parser.add_argument("log_dirs", nargs="+", help="run folders holding progress.csv and monitor.csv")
    parser.add_argument("--at", type=_steps, default=DEFAULT_STEPS, help="steps to compare at (default 1M..10M)")
    parser.add_argument("--game", default=None, help="published curve to compare with (default: the runs' game)")
    parser.add_argument("--mean", action="store_true",
                        help="add a row with the mean over the runs (seeds), ± its standard error, at each step all "
                             "of them reached")
    args = parser.parse_args(argv)
    try:
        print(comparison_table(args.log_dirs, args.at, args.game, args.mean))
    except (OSError, ValueError, KeyError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
