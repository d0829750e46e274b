"""Diagnostics computed in numpy from a batch."""
from __future__ import annotations

import numpy as np


def explained_variance(predictions: np.ndarray, targets: np.ndarray) -> float:
    """``1 - Var[targets - predictions] / Var[targets]`` (baselines' definition).

    1 is a perfect value function, 0 no better than a constant, below 0 worse. Returns NaN when
    the targets are constant, as R^2 is undefined there.

    Args:
        predictions: ``[N]`` value predictions.
        targets: ``[N]`` value targets (returns).
    """
    assert predictions.ndim == 1 and targets.ndim == 1
    target_variance = np.var(targets)
    return float("nan") if target_variance == 0 else float(1.0 - np.var(targets - predictions) / target_variance)
