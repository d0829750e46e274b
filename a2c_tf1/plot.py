"""Training dashboard: ``python -m a2c_tf1.plot LOG_DIR [LOG_DIR ...] [-o dashboard.png]``.

One PNG: raw game scores against environment steps with their last-100 mean, then one panel per
diagnostic of ``progress.csv``. Several runs overlay on the same axes. ``--reference`` adds baselines'
published A2C curve of the runs' game (from the env id in monitor.csv, or ``--reference-game``).
"""
from __future__ import annotations

import argparse
import csv
import glob
import os
import re
import sys

import numpy as np

from a2c_tf1 import reference
from a2c_tf1.cli_common import CliError, check_output_folder
from a2c_tf1.files import atomic_output
from a2c_tf1.log_folder import logged_env_id, whole_row_cells

PANELS = [  # (progress.csv column, title, y label)
    ("explained_variance", "Explained variance", "R² of V against returns"),
    ("policy_entropy", "Policy entropy", "nats"),
    ("policy_loss", "Policy loss", "loss"),
    ("value_loss", "Value loss", "loss"),
    ("total_loss", "Total loss", "loss"),
    ("grad_norm", "Gradient norm (before clipping)", "global L2 norm"),
    ("advantage_mean", "Advantage mean", "R − V"),
    ("advantage_std", "Advantage std", "R − V"),
    ("value_target_mean", "Value target mean", "R"),
    ("value_mean", "Value prediction mean", "V(s)"),
    ("learning_rate", "Learning rate", "lr"),
    ("fps", "Speed", "env steps / s"),
    ("eplenmean", "Game length (last 100)", "agent steps"),
]


def complete_rows(path: str) -> list[dict]:
    """The csv rows of ``path`` (``#`` comment lines skipped) that were written whole (``whole_row_cells``)."""
    with open(path, newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    if not lines:
        return []
    columns = next(csv.reader(lines[:1]))
    return [dict(zip(columns, cells)) for line in lines[1:]
            if (cells := whole_row_cells(line, len(columns))) is not None]


def read_progress(log_dir: str) -> dict[str, np.ndarray]:
    """Columns of ``progress.csv`` as float arrays (blank cells become NaN)."""
    rows = complete_rows(os.path.join(log_dir, "progress.csv"))
    if not rows:
        raise ValueError(f"{log_dir}/progress.csv has no rows yet")
    return {key: np.array([float(r[key]) if r.get(key) not in (None, "") else np.nan for r in rows])
            for key in rows[0]}


def monitor_files(log_dir: str) -> list[str]:
    """``monitor.old-1.csv``, ``monitor.old-2.csv``, ... (set aside by the Logger), then ``monitor.csv``."""
    old = glob.glob(os.path.join(glob.escape(log_dir), "monitor.old-*.csv"))
    numbered = sorted((int(m.group(1)), path) for path in old
                      if (m := re.fullmatch(r"monitor\.old-(\d+)\.csv", os.path.basename(path))))
    current = os.path.join(log_dir, "monitor.csv")
    return [path for _, path in numbered] + ([current] if os.path.exists(current) else [])


def read_scores(log_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """(environment step at which each game ended, raw game score) from the folder's monitor files.

    The files are read in the order of :func:`monitor_files`. Files without a ``total_timesteps`` column
    (baselines' r,l,t layout) use the running sum of game lengths from where the file before them
    ended, which trails the true step by at most the games still in progress.
    """
    all_steps, all_scores, end = [], [], 0.0
    for path in monitor_files(log_dir):
        rows = complete_rows(path)
        if not rows:
            continue
        scores = np.array([float(r["r"]) for r in rows])
        if "total_timesteps" in rows[0]:
            steps = np.array([float(r["total_timesteps"]) for r in rows])
        else:
            steps = end + np.cumsum([float(r["l"]) for r in rows])
        all_steps.append(steps)
        all_scores.append(scores)
        end = float(steps[-1])
    if not all_scores:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(all_steps), np.concatenate(all_scores)


def read_env_id(log_dir: str) -> str | None:
    """The env id in the first line of the folder's monitor files (``#{"t_start": ..., "env_id": ...}``)."""
    for path in reversed(monitor_files(log_dir)):  # monitor.csv first: the current run
        env_id = logged_env_id(path)
        if env_id:
            return env_id
    return None


def uniform_policy_entropy(env_id: str | None) -> tuple[float, int] | None:
    """``(ln n, n)`` for an ALE id whose policy picks among the game's ``n`` minimal actions; else None."""
    if not env_id:
        return None
    from a2c_tf1.envs import UnknownEnvError, env_spec

    try:
        spec = env_spec(env_id)
    except UnknownEnvError:
        return None
    if not str(spec.entry_point).startswith("ale_py"):
        return None
    from a2c_tf1.envs.atari import minimal_action_names

    count = len(minimal_action_names(spec.kwargs["game"]))
    return float(np.log(count)), count


def running_mean(values: np.ndarray, window: int = 100) -> np.ndarray:
    """Mean of the last ``window`` values at every index (fewer at the start)."""
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    index = np.arange(1, len(values) + 1)
    start = np.maximum(index - window, 0)
    return (cumsum[index] - cumsum[start]) / (index - start)


def draw_dashboard(log_dirs: list[str], output: str, labels: list[str] | None = None,
                   reference_games: list[str] = ()) -> int:
    """Draw the dashboard of ``log_dirs`` to ``output``; returns the number of panels.

    ``reference_games``: games whose published baselines curve goes on the score panel (dashed).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = labels or [os.path.basename(os.path.normpath(d)) for d in log_dirs]
    runs = [(label, read_progress(d), read_scores(d)) for label, d in zip(labels, log_dirs)]
    env_ids = [read_env_id(d) for d in log_dirs]
    panels = [p for p in PANELS if any(p[0] in progress for _, progress, _ in runs)]
    ncols = 3
    nrows = 1 + int(np.ceil(len(panels) / ncols))
    fig = plt.figure(figsize=(5.2 * ncols, 3.3 * nrows), constrained_layout=True)
    grid = fig.add_gridspec(nrows, ncols)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    score_ax = fig.add_subplot(grid[0, :])
    for i, (label, progress, (steps, scores)) in enumerate(runs):
        color = colors[i % len(colors)]
        if len(scores):
            score_ax.scatter(steps / 1e6, scores, s=4, alpha=0.25, color=color, linewidths=0)
            score_ax.plot(steps / 1e6, running_mean(scores), color=color, lw=2, label=f"{label}: last-100 mean")
        elif "eprewmean" in progress:
            score_ax.plot(progress["total_timesteps"] / 1e6, progress["eprewmean"], color=color, lw=2,
                          label=f"{label}: last-100 mean")
    # The published curve up to the runs' furthest step, so that short runs are not squeezed to the left.
    furthest = max([float(np.max(steps)) for _, _, (steps, _) in runs if len(steps)] +
                   [float(np.nanmax(progress["total_timesteps"])) for _, progress, _ in runs])
    for game in reference_games:
        steps, scores = reference.published_curve(game)
        if furthest < reference.PUBLISHED_STEPS:
            keep = steps < furthest
            steps = np.append(steps[keep], furthest)
            scores = np.append(scores[keep], reference.published_score(game, furthest))
        label = reference.LABEL + (f": {game}" if len(reference_games) > 1 else "")
        score_ax.plot(steps / 1e6, scores, color="black", ls="--", lw=1.5, label=label)
    score_ax.set_title("Raw game score (all lives, unclipped): dots are games, lines the last-100 mean")
    score_ax.set_xlabel("environment steps (millions)")
    score_ax.set_ylabel("score")
    score_ax.grid(alpha=0.3)
    score_ax.legend(loc="upper left")

    for n, (key, title, ylabel) in enumerate(panels):
        ax = fig.add_subplot(grid[1 + n // ncols, n % ncols])
        for i, (label, progress, _) in enumerate(runs):
            if key in progress:
                ax.plot(progress["total_timesteps"] / 1e6, progress[key], color=colors[i % len(colors)], label=label)
        if key == "explained_variance":
            ax.set_ylim(-1.05, 1.05)  # the first updates sit far below -1 and would flatten the rest
        if key == "policy_entropy":  # the entropy of a uniform policy: where training starts
            for value, count in sorted(set(filter(None, map(uniform_policy_entropy, env_ids)))):
                ax.axhline(value, color="grey", ls="--", lw=1, label=f"ln {count} (uniform, {count} actions)")
            ax.legend(fontsize=7)
        ax.set_title(title)
        ax.set_xlabel("environment steps (millions)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    try:  # through a temp file: a kill mid-write leaves the previous dashboard, not half a PNG
        with atomic_output(output) as tmp:  # the temp name ends in .tmp<ext>: name the format
            fig.savefig(tmp, dpi=80, format=os.path.splitext(output)[1][1:] or "png")
    finally:
        plt.close(fig)
    return 1 + len(panels)


def reference_games(log_dirs: list[str], game: str | None) -> list[str]:
    """The games whose published curve ``--reference`` draws: ``game``, else each run's own.

    Raises:
        ValueError: a run without an env id, or a game without a published curve (one line each).
    """
    if game is not None:
        wanted = [game]
    else:
        wanted = []
        for log_dir in log_dirs:
            env_id = read_env_id(log_dir)
            if env_id is None:
                raise ValueError(f"{log_dir} records no env id (no monitor.csv with one); pass --reference-game, "
                                 f"e.g. --reference-game Breakout")
            wanted.append(reference.game_of(env_id))
    return list(dict.fromkeys(reference.canonical_game(name) for name in wanted))  # UnknownGame is a ValueError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a2c_tf1.plot", description=__doc__.split("\n\n")[0])
    parser.add_argument("log_dirs", nargs="+", metavar="LOG_DIR", help="folders holding progress.csv (and monitor.csv)")
    parser.add_argument("-o", "--output", default="dashboard.png", help="PNG to write (default dashboard.png)")
    parser.add_argument("--reference", action="store_true",
                        help=f"overlay baselines' published A2C curve ({', '.join(reference.games())})")
    parser.add_argument("--reference-game", default=None, metavar="GAME",
                        help="the game of that curve (default: from the env id in monitor.csv); implies --reference")
    args = parser.parse_args(argv)
    if not os.path.splitext(args.output)[1]:
        args.output += ".png"  # as matplotlib names a file given without an extension
    folder = os.path.dirname(os.path.abspath(args.output))
    try:
        check_output_folder("-o", folder)
    except CliError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    for log_dir in args.log_dirs:
        if not os.path.exists(os.path.join(log_dir, "progress.csv")):
            print(f"{parser.prog}: error: {log_dir} has no progress.csv; pass the --log-dir of a training run",
                  file=sys.stderr)
            return 2
    try:
        games = reference_games(args.log_dirs, args.reference_game) \
            if args.reference or args.reference_game else []
        panels = draw_dashboard(args.log_dirs, args.output, reference_games=games)
    except (ValueError, KeyError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{parser.prog}: error: cannot write {args.output}: {exc.strerror}; give another -o path",
              file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({panels} panels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
