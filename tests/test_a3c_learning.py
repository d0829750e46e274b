"""A3C must learn CartPole: the real command line, 2 worker threads, seeded.

Thread scheduling makes every run different, so the settings leave a wide margin (in development
both runs reached a last-20 mean of 195 near 90k global steps, well inside the 300k allowed), and the
test stops the run with SIGTERM as soon as the criterion is met (which also checks that SIGTERM saves).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET = 300_000
TIMEOUT_S = 540


def last20_solved_at(monitor: str) -> tuple[int | None, int]:
    """(global step at which the mean of the last 20 games first reached 195, games so far)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file early in the run
            rows = np.loadtxt(monitor, delimiter=",", skiprows=2, ndmin=2)
    except (OSError, ValueError):
        return None, 0
    if len(rows) < 20:
        return None, len(rows)
    means = np.convolve(rows[:, 0], np.ones(20) / 20, mode="valid")
    hits = np.flatnonzero(means >= 195)
    return (int(rows[hits[0] + 19, 3]) if len(hits) else None), len(rows)


def train_until_solved(tmp_path, *args) -> tuple[int | None, int, int]:
    """Run the CLI until CartPole is solved (then SIGTERM) or the budget ends; (solved at, games, exit code)."""
    log_dir, models_dir = tmp_path / "l", tmp_path / "m"
    command = [sys.executable, "-m", "a2c_tf1.a3c", *args, "--threads", "2", "--seed", "0",
               "--num-timesteps", str(BUDGET), "--models-dir", str(models_dir), "--log-dir", str(log_dir)]
    with open(tmp_path / "out.log", "wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    solved_at, games = None, 0
    deadline = time.time() + TIMEOUT_S
    try:
        while proc.poll() is None and time.time() < deadline:
            time.sleep(1.0)
            solved_at, games = last20_solved_at(str(log_dir / "monitor.csv"))
            if solved_at is not None:
                proc.send_signal(signal.SIGTERM)
                break
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if solved_at is None:
        solved_at, games = last20_solved_at(str(log_dir / "monitor.csv"))
    tail = (tmp_path / "out.log").read_text(errors="replace")[-2000:]
    assert code in (0, 143), tail
    assert os.path.exists(models_dir / "a3c" / "CartPole-v1.save"), tail
    return solved_at, games, code


def test_a3c_mlp_threads_solve_cartpole_within_300k_global_steps(tmp_path):
    solved_at, games, _ = train_until_solved(tmp_path, "--env", "CartPole-v1", "--policy", "mlp")
    print(f"\nmlp: last-20 mean >= 195 at global step {solved_at}, after {games} games")
    assert solved_at is not None and solved_at <= BUDGET, f"no last-20 mean >= 195 in {games} games"


def test_a3c_lstm_cartpole_preset_solves_cartpole_within_300k_global_steps(tmp_path):
    solved_at, games, _ = train_until_solved(tmp_path, "--preset", "a3c-lstm-cartpole")
    print(f"\nlstm: last-20 mean >= 195 at global step {solved_at}, after {games} games")
    assert solved_at is not None and solved_at <= BUDGET, f"no last-20 mean >= 195 in {games} games"


@pytest.mark.slow
def test_a3c_paper_settings_learn_pong_and_the_curve_goes_to_docs():
    """10M global steps of the A3C paper's settings on Pong (16 threads); hours on 2 cores. Writes the
    logs and the dashboard to docs/a3c/pong/ (commit them) and the checkpoint to models/a3c/.

    The bar is what the committed run (docs/a3c/pong) showed, not a solved game: at 10M steps with a 10M
    lr schedule these settings learn Pong only part of the way. That run had -20.25 over its first 100
    games, -11.94 over its last 100 and -13.05 to -9.35 for every 100 consecutive games of its last 1,000,
    so "a last-100 mean above -15", 5 points above random play, clears its worst such window by 1.95."""
    log_dir = os.path.join(ROOT, "docs", "a3c", "pong")
    command = [sys.executable, "-m", "a2c_tf1.a3c", "--preset", "a3c-atari", "--env", "PongNoFrameskip-v4",
               "--num-timesteps", "10000000", "--log-dir", log_dir, "--log-interval", "50000"]
    proc = subprocess.run(command, cwd=ROOT, stdin=subprocess.DEVNULL, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert proc.returncode == 0
    subprocess.run([sys.executable, "-m", "a2c_tf1.plot", log_dir, "-o", os.path.join(log_dir, "dashboard.png")],
                   cwd=ROOT, check=True)
    scores = np.loadtxt(os.path.join(log_dir, "monitor.csv"), delimiter=",", skiprows=2, ndmin=2)[:, 0]
    assert scores[:20].mean() < -15, "random play loses about -21 to -20"
    assert scores[-100:].mean() > -15, f"last-100 mean {scores[-100:].mean():.1f}"
