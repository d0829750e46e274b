"""RMSProp step shrink read off a .state (a2c_tf1/optimizer_stats.py), against hand-computed numbers and
against what TF1's RMSPropOptimizer really does with the same statistics."""
import numpy as np
import pytest
import tensorflow as tf

from a2c_tf1 import checkpoint
from a2c_tf1.agent import SETTINGS, encode_settings
from a2c_tf1.optimizer_stats import main, rms_stats, weighted_shrink

tf1 = tf.compat.v1


def test_hand_computed_shrink_and_fractions():
    # ms = 0.09 with epsilon 0.01: sqrt(0.09 / 0.1) = 0.948683; ms = 0.0001: sqrt(1e-4 / 0.0101) = 0.099504
    state = {"model/a/w/rms": np.array([0.09, 0.09, 0.0001], np.float32), "model/a/w/momentum": np.zeros(3),
             "model/b/rms": np.array([0.0001], np.float32), "timestep": np.array(5)}
    a, b = rms_stats(state, 0.01)
    assert (a.name, a.size, b.name, b.size) == ("model/a/w", 3, "model/b", 1)
    assert a.shrink_median == pytest.approx(0.948683, rel=1e-5)
    assert a.grad_rms_median == pytest.approx(0.3, rel=1e-6)
    assert a.below_epsilon == pytest.approx(1 / 3)
    assert b.shrink_median == pytest.approx(0.099504, rel=1e-5) and b.below_epsilon == 1.0
    # three weights near 0.95, one near 0.1: the weighted median is a's
    assert weighted_shrink([a, b]) == pytest.approx(a.shrink_median)
    assert rms_stats(state, 0.0)[0].shrink_median == 1.0


def test_shrink_is_the_ratio_of_tf1_rmsprop_steps_with_and_without_epsilon():
    """TF1 moves w by lr * g / sqrt(ms + eps); with the running ms fixed the shrink is step(eps) / step(~0)."""
    ms_value, grad, lr = 4e-4, 0.02, 0.1  # g^2 == ms, so ms stays put after the update (decay 0.99)

    def one_step(epsilon):
        graph = tf.Graph()
        with graph.as_default():
            w = tf1.get_variable("w", initializer=np.zeros(1, np.float32))
            opt = tf1.train.RMSPropOptimizer(lr, decay=0.99, epsilon=epsilon)
            train = opt.apply_gradients([(tf.constant([grad], tf.float32), w)])
            rms = opt.get_slot(w, "rms")
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                sess.run(rms.assign([ms_value]))
                sess.run(train)
                return float(-sess.run(w)[0]), float(sess.run(rms)[0])

    step_eps, ms_after = one_step(0.1)
    step_none, _ = one_step(1e-12)
    shrink = rms_stats({"w/rms": np.array([ms_after])}, 0.1)[0].shrink_median
    assert step_eps / step_none == pytest.approx(shrink, rel=1e-4)
    assert step_eps == pytest.approx(lr * grad / np.sqrt(ms_value + 0.1), rel=1e-4)


def test_cli_reads_epsilon_from_the_run_and_refuses_what_it_cannot_judge(tmp_path, capsys):
    path = str(tmp_path / "x.save.state")
    state = {"model/w/rms": np.full(4, 1e-6, np.float32), "timestep": np.array(1)}
    checkpoint.save_params(path, {**state, SETTINGS: encode_settings({"epsilon": 1e-5})})
    assert main([path]) == 0
    out = capsys.readouterr().out
    assert "epsilon 1e-05" in out and "model/w" in out
    # sqrt(1e-6 / 1.1e-5) = 0.3015
    assert "3.02e-01" in out

    checkpoint.save_params(path, state)  # no recorded settings (A3C): --epsilon is needed
    assert main([path]) == 2
    assert "give --epsilon" in capsys.readouterr().err
    assert main([path, "--epsilon", "0.1"]) == 0

    checkpoint.save_params(path, {"model/w/m": np.zeros(2), "timestep": np.array(1)})  # Adam slots only
    assert main([path, "--epsilon", "0.1"]) == 2
    assert "Adam" in capsys.readouterr().err

    checkpoint.save_params(path, [np.zeros(2)])  # a weights file
    assert main([path, "--epsilon", "0.1"]) == 2
    assert "not a .state" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.state"), "--epsilon", "0.1"]) == 2
