"""Training dashboard: ``python -m a2c_tf1.plot LOG_DIR [LOG_DIR ...] [-o dashboard.png]``.

One PNG: raw game scores against environment steps with their last-100 mean, then one panel per
diagnostic of ``progress.csv``. Several runs overlay on the same axes.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys

import numpy as np

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


def read_progress(log_dir: str) -> dict[str, np.ndarray]:
    """Columns of ``progress.csv`` as float arrays (blank cells become NaN)."""
    with open(os.path.join(log_dir, "progress.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{log_dir}/progress.csv has no rows yet")
    return {key: np.array([float(r[key]) if r.get(key) not in (None, "") else np.nan for r in rows])
            for key in rows[0]}


def read_scores(log_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """(environment step at which each game ended, raw game score) from ``monitor.csv``.

    Files without a ``total_timesteps`` column (baselines' r,l,t layout) use the running sum of game
    lengths, which trails the true step by at most the games still in progress.
    """
    path = os.path.join(log_dir, "monitor.csv")
    if not os.path.exists(path):
        return np.zeros(0), np.zeros(0)
    with open(path, newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    scores = np.array([float(r["r"]) for r in rows])
    if rows and "total_timesteps" in rows[0]:
        steps = np.array([float(r["total_timesteps"]) for r in rows])
    else:
        steps = np.cumsum([float(r["l"]) for r in rows])
    return steps, scores


def running_mean(values: np.ndarray, window: int = 100) -> np.ndarray:
    """Mean of the last ``window`` values at every index (fewer at the start)."""
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    index = np.arange(1, len(values) + 1)
    start = np.maximum(index - window, 0)
    return (cumsum[index] - cumsum[start]) / (index - start)


def draw_dashboard(log_dirs: list[str], output: str, labels: list[str] | None = None) -> int:
    """Draw the dashboard of ``log_dirs`` to ``output``; returns the number of panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = labels or [os.path.basename(os.path.normpath(d)) for d in log_dirs]
    runs = [(label, read_progress(d), read_scores(d)) for label, d in zip(labels, log_dirs)]
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
        if key == "policy_entropy":
            ax.axhline(np.log(4), color="grey", ls="--", lw=1, label="ln 4 (uniform, 4 actions)")
            ax.legend(fontsize=7)
        ax.set_title(title)
        ax.set_xlabel("environment steps (millions)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    fig.savefig(output, dpi=80)
    plt.close(fig)
    return 1 + len(panels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a2c_tf1.plot", description=__doc__.split("\n\n")[0])
    parser.add_argument("log_dirs", nargs="+", metavar="LOG_DIR", help="folders holding progress.csv (and monitor.csv)")
    parser.add_argument("-o", "--output", default="dashboard.png", help="PNG to write (default dashboard.png)")
    args = parser.parse_args(argv)
    for log_dir in args.log_dirs:
        if not os.path.exists(os.path.join(log_dir, "progress.csv")):
            print(f"{parser.prog}: error: {log_dir} has no progress.csv; pass the --log-dir of a training run",
                  file=sys.stderr)
            return 2
    try:
        panels = draw_dashboard(args.log_dirs, args.output)
    except (ValueError, KeyError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({panels} panels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
