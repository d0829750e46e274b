"""Learning-rate schedules (a2c_tf1/schedules.py)."""
import pytest

from a2c_tf1.schedules import SCHEDULES, learning_rate

LR = 7e-4
TOTAL = 1000


def test_linear_at_start_is_exactly_initial():
    assert learning_rate(LR, "linear", 0, TOTAL) == LR


def test_linear_in_the_middle_is_half():
    assert learning_rate(LR, "linear", TOTAL // 2, TOTAL) == pytest.approx(LR / 2, rel=1e-12)


def test_linear_quarter():
    assert learning_rate(LR, "linear", 250, TOTAL) == pytest.approx(0.75 * LR, rel=1e-12)


def test_linear_at_end_is_zero():
    assert learning_rate(LR, "linear", TOTAL, TOTAL) == 0.0


def test_linear_is_clamped_outside_the_run():
    # progress is clipped to [0, 1]: no negative lr past the end, no lr above initial before the start.
    assert learning_rate(LR, "linear", 2 * TOTAL, TOTAL) == 0.0
    assert learning_rate(LR, "linear", -10, TOTAL) == LR


@pytest.mark.parametrize("timestep", [0, 1, 499, 500, 999, 1000, 5000])
def test_constant_is_initial_everywhere(timestep):
    assert learning_rate(LR, "constant", timestep, TOTAL) == LR


def test_unknown_schedule_raises_value_error():
    with pytest.raises(ValueError, match="unknown lr schedule"):
        learning_rate(LR, "cosine", 0, TOTAL)


def test_agent_rejects_unknown_schedule_before_building_a_graph():
    from a2c_tf1 import Agent
    from a2c_tf1.policies import MlpPolicy
    with pytest.raises(ValueError):
        Agent(MlpPolicy, None, None, nenvs=1, nsteps=1, nstack=1, lrschedule="cosine")


# ---- the other schedules against openai/baselines' a2c/utils.py (2017) ------------------------------
def _baselines_middle_drop(p):
    eps = 0.75
    if 1 - p < eps:
        return eps * 0.1
    return 1 - p


def _baselines_double_linear_con(p):
    p *= 2
    eps = 0.125
    if 1 - p < eps:
        return eps
    return 1 - p


def _baselines_double_middle_drop(p):
    eps1 = 0.75
    eps2 = 0.25
    if 1 - p < eps1:
        if 1 - p < eps2:
            return eps2 * 0.5
        return eps1 * 0.1
    return 1 - p


GRID = [0, 100, 250, 251, 300, 437, 500, 700, 750, 751, 900, 1000]


@pytest.mark.parametrize("name,reference", [("middle_drop", _baselines_middle_drop),
                                            ("double_linear_con", _baselines_double_linear_con)])
def test_schedule_matches_baselines(name, reference):
    got = [learning_rate(LR, name, t, TOTAL) for t in GRID]
    assert got == pytest.approx([LR * reference(t / TOTAL) for t in GRID], rel=1e-12)


def test_all_schedules_are_listed():
    assert set(SCHEDULES) == {"constant", "linear", "middle_drop", "double_linear_con", "double_middle_drop"}


def test_double_middle_drop_matches_baselines():
    # baselines: lr * (1-p) while 1-p >= 0.75; lr * 0.75*0.1 = 0.075 lr while 0.25 <= 1-p < 0.75;
    # lr * 0.25*0.5 = 0.125 lr after. E.g. at p = 0.5 the multiplier is 0.075.
    assert learning_rate(LR, "double_middle_drop", 500, TOTAL) == pytest.approx(0.075 * LR, rel=1e-12)
    got = [learning_rate(LR, "double_middle_drop", t, TOTAL) for t in GRID]
    assert got == pytest.approx([LR * _baselines_double_middle_drop(t / TOTAL) for t in GRID], rel=1e-12)
