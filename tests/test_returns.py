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


# ---- one rollout of an A3C actor-learner: nstep_returns and gae_advantages ---------------------------
from a2c_tf1.returns import gae_advantages, nstep_returns  # noqa: E402


def test_nstep_returns_bootstrap_at_the_cut():
    # gamma 0.5, rewards 1, 2, 3, cut after step 2 with V(s_3) = 10 (same numbers as the A2C case above):
    #   R2 = 3 + 0.5*10 = 8, R1 = 2 + 0.5*8 = 6, R0 = 1 + 0.5*6 = 4
    out = nstep_returns([1, 2, 3], [0, 0, 10], [0, 0, 0], [0, 0, 0], 0.5)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [4.0, 6.0, 8.0], rtol=1e-6)


def test_nstep_returns_terminal_is_not_bootstrapped():
    # terminal at the last step: V(s_3) = 1000 must not leak in. R2 = 3, R1 = 3.5, R0 = 2.75
    out = nstep_returns([1, 2, 3], [0, 0, 1000], [0, 0, 1], [0, 0, 1], 0.5)
    np.testing.assert_allclose(out, [2.75, 3.5, 3.0], rtol=1e-6)


def test_nstep_returns_truncation_is_bootstrapped():
    # a time limit at the last step (end, not terminal): V of the final observation, 10, stands in:
    #   R2 = 3 + 0.5*10 = 8, R1 = 6, R0 = 4 (the same as an ordinary cut)
    out = nstep_returns([1, 2, 3], [0, 0, 10], [0, 0, 0], [0, 0, 1], 0.5)
    np.testing.assert_allclose(out, [4.0, 6.0, 8.0], rtol=1e-6)


def test_nstep_returns_truncation_mid_rollout_bootstraps_there_and_cuts_the_flow():
    # gamma 0.5, truncation at t=0 with V(final obs) = 4; steps 1-2 are a new episode cut with V = 10:
    #   R2 = 3 + 5 = 8, R1 = 2 + 4 = 6, R0 = 1 + 0.5*4 = 3 (not 1 + 0.5*R1)
    out = nstep_returns([1, 2, 3], [4, 0, 10], [0, 0, 0], [1, 0, 0], 0.5)
    np.testing.assert_allclose(out, [3.0, 6.0, 8.0], rtol=1e-6)
    # the same step as a terminal: R0 = 1
    out = nstep_returns([1, 2, 3], [4, 0, 10], [1, 0, 0], [1, 0, 0], 0.5)
    np.testing.assert_allclose(out, [1.0, 6.0, 8.0], rtol=1e-6)


def test_nstep_returns_agree_with_the_a2c_batch_returns():
    rng = np.random.default_rng(0)
    rewards, value = rng.normal(size=7).astype(np.float32), 1.7
    a2c = _boot([rewards], [[0] * 7], [value], 0.9)[0]
    np.testing.assert_allclose(nstep_returns(rewards, [0] * 6 + [value], [0] * 7, [0] * 7, 0.9), a2c, rtol=1e-5)


def test_gae_hand_computed():
    # gamma 0.5, lambda 0.5, rewards 1, 2, 3, values 1, 2, 3, V(s_3) = 10, no end:
    #   delta2 = 3 + 0.5*10 - 3 = 5,  delta1 = 2 + 0.5*3 - 2 = 1.5,  delta0 = 1 + 0.5*2 - 1 = 1
    #   A2 = 5, A1 = 1.5 + 0.25*5 = 2.75, A0 = 1 + 0.25*2.75 = 1.6875
    out = gae_advantages([1, 2, 3], [1, 2, 3], [2, 3, 10], [0, 0, 0], [0, 0, 0], 0.5, 0.5)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [1.6875, 2.75, 5.0], rtol=1e-6)


def test_gae_lambda_one_is_the_nstep_return_minus_the_value():
    # lambda 1 (universe-starter-agent's and seed 004's default): A_t = R_t - V(s_t).
    # R = 4, 6, 8 (see test_nstep_returns_bootstrap_at_the_cut), V = 1, 2, 3 -> A = 3, 4, 5
    out = gae_advantages([1, 2, 3], [1, 2, 3], [2, 3, 10], [0, 0, 0], [0, 0, 0], 0.5, 1.0)
    np.testing.assert_allclose(out, [3.0, 4.0, 5.0], rtol=1e-6)


def test_gae_lambda_zero_is_the_td_error():
    # deltas from test_gae_hand_computed: 1, 1.5, 5
    out = gae_advantages([1, 2, 3], [1, 2, 3], [2, 3, 10], [0, 0, 0], [0, 0, 0], 0.5, 0.0)
    np.testing.assert_allclose(out, [1.0, 1.5, 5.0], rtol=1e-6)


def test_gae_terminal_and_truncation():
    # gamma 0.5, lambda 1, rewards 1, 1, values 0.5, 0.5, the episode ends at t=1 with V(final obs) = 4:
    # terminal:  delta1 = 1 - 0.5 = 0.5;          delta0 = 1 + 0.25 - 0.5 = 0.75;  A0 = 0.75 + 0.5*0.5 = 1
    # truncated: delta1 = 1 + 0.5*4 - 0.5 = 2.5;  A0 = 0.75 + 0.5*2.5 = 2
    out = gae_advantages([1, 1], [0.5, 0.5], [0.5, 4.0], [0, 1], [0, 1], 0.5, 1.0)
    np.testing.assert_allclose(out, [1.0, 0.5], rtol=1e-6)
    out = gae_advantages([1, 1], [0.5, 0.5], [0.5, 4.0], [0, 0], [0, 1], 0.5, 1.0)
    np.testing.assert_allclose(out, [2.0, 2.5], rtol=1e-6)


def test_gae_end_mid_rollout_cuts_the_flow():
    # gamma 1, lambda 1, terminal at t=0: A0 = r0 - V0 = 1 - 0.5; then A1 = 1 + 2 - 0.5 = 2.5 (V(s_2) = 2)
    out = gae_advantages([1, 1], [0.5, 0.5], [9.0, 2.0], [1, 0], [1, 0], 1.0, 1.0)
    np.testing.assert_allclose(out, [0.5, 2.5], rtol=1e-6)


def test_rollout_flags_must_match():
    with pytest.raises(ValueError, match="same"):
        nstep_returns([1, 2], [0, 0], [0, 0], [0], 0.9)
