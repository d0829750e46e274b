"""n-step discounted returns (a2c_tf1/returns.py), checked against hand-computed numbers."""
import numpy as np
import pytest

from a2c_tf1.returns import bootstrapped_returns, discount_with_dones


def _boot(rewards, dones, last_values, gamma):
    return bootstrapped_returns(np.asarray(rewards, np.float32), np.asarray(dones, bool),
                                np.asarray(last_values, np.float32), gamma)


# ---- discount_with_dones (one env) -----------------------------------------------------------------
def test_discount_no_done():
    # gamma 0.5, rewards 1, 2, 3:
    #   R2 = 3
    #   R1 = 2 + 0.5 * 3    = 3.5
    #   R0 = 1 + 0.5 * 3.5  = 2.75
    assert discount_with_dones([1.0, 2.0, 3.0], [0, 0, 0], 0.5) == pytest.approx([2.75, 3.5, 3.0])


def test_discount_done_mid_rollout_cuts_the_flow():
    # done at t=1 (the episode ended *at* step 1): nothing after step 1 flows into R1 or R0.
    #   R2 = 3
    #   R1 = 2 + 0.5 * 3 * (1 - 1) = 2
    #   R0 = 1 + 0.5 * 2           = 2
    assert discount_with_dones([1.0, 2.0, 3.0], [0, 1, 0], 0.5) == pytest.approx([2.0, 2.0, 3.0])


def test_discount_done_at_first_step():
    # done at t=0: R0 = r0 only; R1 = 2 + 0.5*3 = 3.5; R2 = 3
    assert discount_with_dones([1.0, 2.0, 3.0], [1, 0, 0], 0.5) == pytest.approx([1.0, 3.5, 3.0])


def test_discount_gamma_zero_is_the_reward():
    assert discount_with_dones([1.0, -2.0, 3.0], [0, 0, 0], 0.0) == pytest.approx([1.0, -2.0, 3.0])


def test_discount_gamma_one_is_the_sum_to_the_episode_end():
    # gamma 1: R2 = 3, R1 = -2 + 3 = 1, R0 = 1 + 1 = 2
    assert discount_with_dones([1.0, -2.0, 3.0], [0, 0, 0], 1.0) == pytest.approx([2.0, 1.0, 3.0])
    # gamma 1 with a done at t=0: R0 = 1, R1 = 1, R2 = 3
    assert discount_with_dones([1.0, -2.0, 3.0], [1, 0, 0], 1.0) == pytest.approx([1.0, 1.0, 3.0])


# ---- bootstrapped_returns ([nenv, T]) --------------------------------------------------------------
def test_bootstrap_with_last_value_when_last_step_not_done():
    # gamma 0.5, rewards 1, 2, 3, V(s_T) = 10:
    #   R2 = 3 + 0.5 * 10 = 8
    #   R1 = 2 + 0.5 * 8  = 6
    #   R0 = 1 + 0.5 * 6  = 4
    out = _boot([[1, 2, 3]], [[0, 0, 0]], [10.0], 0.5)
    assert out.dtype == np.float32 and out.shape == (1, 3)
    np.testing.assert_allclose(out, [[4.0, 6.0, 8.0]], rtol=1e-6)


def test_no_bootstrap_when_last_step_done():
    # done at the last step: V(s_T) (here 1000, the first frame of a new episode) must not leak in.
    #   R2 = 3, R1 = 2 + 0.5*3 = 3.5, R0 = 1 + 0.5*3.5 = 2.75
    out = _boot([[1, 2, 3]], [[0, 0, 1]], [1000.0], 0.5)
    np.testing.assert_allclose(out, [[2.75, 3.5, 3.0]], rtol=1e-6)


def test_bootstrap_after_a_mid_rollout_done():
    # done at t=0, last step not done, V = 10, gamma 0.5:
    #   R2 = 3 + 0.5*10 = 8, R1 = 2 + 0.5*8 = 6, R0 = 1 (cut: done at step 0)
    out = _boot([[1, 2, 3]], [[1, 0, 0]], [10.0], 0.5)
    np.testing.assert_allclose(out, [[1.0, 6.0, 8.0]], rtol=1e-6)


def test_done_mid_rollout_and_at_end_no_flow_no_bootstrap():
    # dones at t=1 and t=2, V = 1000 ignored, gamma 0.5:
    #   R2 = 3, R1 = 2, R0 = 1 + 0.5*2 = 2
    out = _boot([[1, 2, 3]], [[0, 1, 1]], [1000.0], 0.5)
    np.testing.assert_allclose(out, [[2.0, 2.0, 3.0]], rtol=1e-6)


def test_several_envs_are_independent_rows():
    # env 0: bootstrap with V=10 (see above)          -> 4, 6, 8
    # env 1: rewards 0,0,1 done at end, V=-50 ignored -> R2 = 1, R1 = 0.5, R0 = 0.25
    # env 2: rewards 1,1,1, done at t=1, V=2          -> R2 = 1 + 0.5*2 = 2, R1 = 1, R0 = 1 + 0.5*1 = 1.5
    out = _boot([[1, 2, 3], [0, 0, 1], [1, 1, 1]],
                [[0, 0, 0], [0, 0, 1], [0, 1, 0]],
                [10.0, -50.0, 2.0], 0.5)
    np.testing.assert_allclose(out, [[4.0, 6.0, 8.0], [0.25, 0.5, 1.0], [1.5, 1.0, 2.0]], rtol=1e-6)


def test_bootstrap_gamma_zero_is_the_reward():
    # gamma 0: R_t = r_t, neither V nor later rewards matter.
    out = _boot([[1, -2, 3], [4, 5, 6]], [[0, 0, 0], [0, 1, 1]], [10.0, 10.0], 0.0)
    np.testing.assert_allclose(out, [[1, -2, 3], [4, 5, 6]])


def test_bootstrap_gamma_one():
    # gamma 1, env 0 not done, V = 10: R2 = 3 + 10 = 13, R1 = 2 + 13 = 15, R0 = 1 + 15 = 16
    # env 1 done at t=0 and at end:    R2 = 3, R1 = 2 + 3 = 5, R0 = 1
    out = _boot([[1, 2, 3], [1, 2, 3]], [[0, 0, 0], [1, 0, 1]], [10.0, 10.0], 1.0)
    np.testing.assert_allclose(out, [[16.0, 15.0, 13.0], [1.0, 5.0, 3.0]], rtol=1e-6)


def test_bootstrap_single_step():
    # T = 1: R0 = r0 + gamma * V unless done. 2 + 0.9*10 = 11; done: 2
    out = _boot([[2.0], [2.0]], [[0], [1]], [10.0, 10.0], 0.9)
    np.testing.assert_allclose(out, [[11.0], [2.0]], rtol=1e-6)
