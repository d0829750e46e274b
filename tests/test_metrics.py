"""explained_variance (a2c_tf1/metrics.py).

The package implements baselines' definition ``1 - Var[y - p] / Var[y]``. That equals the coefficient of
determination ``R^2 = 1 - sum((y - p)^2) / sum((y - mean y)^2)`` exactly when the residuals have zero mean;
with a biased prediction the two differ (baselines' version ignores a constant offset). Both facts are
tested here.
"""
import math

import numpy as np
import pytest

from a2c_tf1.metrics import explained_variance


def _r2(pred, target):
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    return 1.0 - np.sum((target - pred) ** 2) / np.sum((target - target.mean()) ** 2)


def _baselines_ev(pred, target):
    # independent of np.var: explicit centred sums
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    res = target - pred
    return 1.0 - np.sum((res - res.mean()) ** 2) / np.sum((target - target.mean()) ** 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_r2_on_random_data_with_unbiased_residuals(seed):
    rng = np.random.RandomState(seed)
    target = rng.normal(2.0, 3.0, 200)
    pred = target + rng.normal(0.0, 1.5, 200)
    pred += (target - pred).mean()  # zero-mean residuals: R^2 and baselines' EV coincide
    ev = explained_variance(pred, target)
    assert isinstance(ev, float)
    assert ev == pytest.approx(_r2(pred, target), rel=1e-9, abs=1e-12)
    assert 0.0 < ev < 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_baselines_definition_on_random_data(seed):
    rng = np.random.RandomState(seed)
    target = rng.normal(0.0, 1.0, 100)
    pred = rng.normal(0.5, 2.0, 100)  # a bad, biased predictor: EV well below 0
    ev = explained_variance(pred, target)
    assert ev == pytest.approx(_baselines_ev(pred, target), rel=1e-9)
    assert ev < 0.0


def test_constant_offset_is_not_penalised_unlike_r2():
    # Var[y - (y + 5)] = 0 -> EV = 1, while R^2 = 1 - 25n / sum((y - ybar)^2) is far below 1.
    target = np.array([1.0, 2.0, 3.0, 4.0])
    pred = target + 5.0
    assert explained_variance(pred, target) == pytest.approx(1.0)
    assert _r2(pred, target) == pytest.approx(1.0 - 100.0 / 5.0)


def test_hand_computed_value():
    # y = [0, 1, 2, 3], p = [0, 0, 2, 2]: y - p = [0, 1, 0, 1], Var = 0.25; Var[y] = 1.25
    # EV = 1 - 0.25 / 1.25 = 0.8
    assert explained_variance(np.array([0.0, 0.0, 2.0, 2.0]), np.array([0.0, 1.0, 2.0, 3.0])) == pytest.approx(0.8)


def test_perfect_prediction_is_one():
    target = np.random.RandomState(3).normal(size=50).astype(np.float32)
    assert explained_variance(target.copy(), target) == 1.0


def test_constant_prediction_equal_to_mean_is_zero():
    target = np.random.RandomState(4).normal(size=50)
    pred = np.full_like(target, target.mean())
    assert explained_variance(pred, target) == pytest.approx(0.0, abs=1e-12)
    assert _r2(pred, target) == pytest.approx(0.0, abs=1e-12)


def test_constant_targets_give_nan():
    assert math.isnan(explained_variance(np.array([0.0, 1.0, 2.0]), np.array([3.0, 3.0, 3.0])))
    assert math.isnan(explained_variance(np.zeros(4, np.float32), np.zeros(4, np.float32)))


def test_rejects_non_flat_input():
    with pytest.raises(AssertionError):
        explained_variance(np.zeros((2, 2)), np.zeros((2, 2)))
