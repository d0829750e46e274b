"""Baselines' published A2C learning curves on Atari, and the published score of a game at a step.

The data, ``a2c_tf1/data/baselines_a2c_atari10M.csv`` (columns ``game,timesteps,mean_score``), holds
100 points per game from 0 to 10M environment steps: the mean raw full-game score of 6 seeds, read off
baselines' benchmark page of 2018-08 (runs at baselines commit ea68f3b; the file's header says more).

    >>> published_score("Breakout", 2_000_000)  # doctest: +ELLIPSIS
    21.4...
"""
from __future__ import annotations

import csv
import importlib.resources
import re

import numpy as np

DATA_FILE = "baselines_a2c_atari10M.csv"
LABEL = "baselines (published, 6-seed mean)"
PUBLISHED_STEPS = 10_000_000  # the benchmark's budget; the curves end at its last point


class UnknownGame(ValueError):
    """A game without a published curve; the message lists the games that have one."""


def _read() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    text = (importlib.resources.files("a2c_tf1") / "data" / DATA_FILE).read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    curves: dict[str, tuple[list, list]] = {}
    for row in rows:
        steps, scores = curves.setdefault(row["game"], ([], []))
        steps.append(float(row["timesteps"]))
        scores.append(float(row["mean_score"]))
    return {game: (np.array(steps), np.array(scores)) for game, (steps, scores) in curves.items()}


def games() -> list[str]:
    """The games with a published curve, sorted."""
    return sorted(_read())


def canonical_game(game: str) -> str:
    """The spelling of ``game`` in the data, in any case ("breakout" gives "Breakout").

    Raises:
        UnknownGame: no published curve for ``game``.
    """
    known = games()
    by_lower = {name.lower(): name for name in known}
    if game.lower() not in by_lower:
        raise UnknownGame(f"no published baselines A2C curve for {game}; games with one: {', '.join(known)}")
    return by_lower[game.lower()]


def published_curve(game: str) -> tuple[np.ndarray, np.ndarray]:
    """``(steps [100], mean scores [100])`` of ``game`` (any case).

    Raises:
        UnknownGame: no published curve for ``game``.
    """
    return _read()[canonical_game(game)]


def published_score(game: str, step: float) -> float:
    """The published mean score of ``game`` at environment step ``step``, linearly interpolated.

    Steps past the curve's last point (9,999,840 for Breakout) up to 10M take that point's value.

    Raises:
        UnknownGame: no published curve for ``game``.
        ValueError: ``step`` outside 0..10M, where nothing was published.
    """
    steps, scores = published_curve(game)
    if not 0 <= step <= PUBLISHED_STEPS:
        raise ValueError(f"step {step:,} is outside the published range 0..{PUBLISHED_STEPS:,}")
    return float(np.interp(step, steps, scores))


def game_of(env_id: str) -> str:
    """The game of an ALE env id: ``BreakoutNoFrameskip-v4`` and ``ALE/Breakout-v5`` give ``Breakout``."""
    name = re.sub(r"-v\d+$", "", env_id.split("/")[-1])
    return re.sub(r"(NoFrameskip|Deterministic)$", "", name)
