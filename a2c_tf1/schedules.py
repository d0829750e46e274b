"""Learning-rate schedules as pure functions of training progress (no hidden step counters).

baselines' ``Scheduler`` kept a counter advanced once per sample; here the caller passes the timestep,
so a resumed run continues the schedule exactly where it stopped.
"""
from __future__ import annotations

from typing import Callable


def _constant(progress: float) -> float:
    return 1.0


def _linear(progress: float) -> float:
    return 1.0 - progress


def _middle_drop(progress: float) -> float:
    eps = 0.75
    return 1.0 - progress if 1.0 - progress >= eps else eps * 0.1


def _double_linear_con(progress: float) -> float:
    progress *= 2.0
    eps = 0.125
    return 1.0 - progress if 1.0 - progress >= eps else eps


def _double_middle_drop(progress: float) -> float:
    eps1, eps2 = 0.75, 0.25
    remaining = 1.0 - progress
    if remaining < eps1:
        return eps1 * 0.1 if remaining >= eps2 else eps2 * 0.5  # sic: baselines drops to 0.075, then 0.125
    return remaining


SCHEDULES: dict[str, Callable[[float], float]] = {
    "constant": _constant,
    "linear": _linear,
    "middle_drop": _middle_drop,
    "double_linear_con": _double_linear_con,
    "double_middle_drop": _double_middle_drop,
}


def learning_rate(initial: float, schedule: str, timestep: int, total_timesteps: int) -> float:
    """Learning rate after ``timestep`` of ``total_timesteps`` samples under ``schedule``.

    Raises:
        ValueError: for an unknown schedule name.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown lr schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    progress = min(max(timestep / float(total_timesteps), 0.0), 1.0)
    return initial * SCHEDULES[schedule](progress)
