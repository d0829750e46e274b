"""The agent's graph: variables, shared step/train models, independent agents, seeding, orthogonal init."""
import numpy as np
import pytest
import tensorflow as tf
from gymnasium import spaces

import a2c_tf1
from a2c_tf1.layers import orthogonal
from a2c_tf1.policies import Cnn2013Policy, CnnPolicy

tf1 = tf.compat.v1

OB_SPACE = spaces.Box(0, 255, (84, 84, 1), np.uint8)
AC_SPACE = spaces.Discrete(4)
NENVS, NSTEPS, NSTACK = 2, 3, 4

NAMES = ["model/c1/w", "model/c1/b", "model/c2/w", "model/c2/b", "model/c3/w", "model/c3/b",
         "model/fc1/w", "model/fc1/b", "model/pi/w", "model/pi/b", "model/v/w", "model/v/b"]
SHAPES = [[8, 8, 4, 32], [32], [4, 4, 32, 64], [64], [3, 3, 64, 64], [64],
          [3136, 512], [512], [512, 4], [4], [512, 1], [1]]


def make_agent(seed=0, **kwargs):
    return a2c_tf1.Agent(CnnPolicy, OB_SPACE, AC_SPACE, nenvs=NENVS, nsteps=NSTEPS, nstack=NSTACK,
                         seed=seed, num_threads=1, **kwargs)


@pytest.fixture(scope="module")
def agent():
    """Seed-0 agent, never trained (tests that train build their own)."""
    a = make_agent(0)
    yield a
    a.close()


def random_obs(n, seed):
    return np.random.RandomState(seed).randint(0, 256, (n, 84, 84, NSTACK)).astype(np.uint8)


def test_trainable_variables_names_order_and_shapes(agent):
    assert agent.param_names == NAMES
    assert [v.shape.as_list() for v in agent.params] == SHAPES
    with agent.graph.as_default():
        assert [v.op.name for v in tf1.trainable_variables()] == NAMES
    assert [list(p.shape) for p in agent.get_params()] == SHAPES
    assert all(p.dtype == np.float32 for p in agent.get_params())


def test_the_a3c_papers_2013_net_has_its_layers():
    # Mnih et al. 2013 as the A3C paper used it: conv 16 8x8/4 (84 -> 20), conv 32 4x4/2 (20 -> 9),
    # fc 256 on 9 * 9 * 32 = 2592 inputs.
    small = a2c_tf1.Agent(Cnn2013Policy, OB_SPACE, AC_SPACE, nenvs=NENVS, nsteps=NSTEPS, nstack=NSTACK, seed=0,
                          num_threads=1)
    try:
        assert small.param_names == [n for n in NAMES if "/c3/" not in n]
        assert [v.shape.as_list() for v in small.params] == [
            [8, 8, 4, 16], [16], [4, 4, 16, 32], [32], [2592, 256], [256], [256, 4], [4], [256, 1], [1]]
    finally:
        small.close()


def test_placeholders_shapes(agent):
    assert agent.step_model.X.shape.as_list() == [NENVS, 84, 84, NSTACK]
    assert agent.train_model.X.shape.as_list() == [NENVS * NSTEPS, 84, 84, NSTACK]
    assert agent.step_model.X.dtype == tf.uint8


def test_step_and_train_model_share_weights(agent):
    obs = random_obs(NENVS, 0)
    sm, tm = agent.step_model, agent.train_model
    step_pi, step_v0 = agent.sess.run([sm.pi, sm.v0], {sm.X: obs})
    # env-major batch: row e*nsteps + t holds env e's observation for every t
    train_pi, train_vf = agent.sess.run([tm.pi, tm.vf], {tm.X: np.repeat(obs, NSTEPS, axis=0)})
    assert step_pi.shape == (NENVS, 4) and train_pi.shape == (NENVS * NSTEPS, 4)
    np.testing.assert_allclose(train_pi, np.repeat(step_pi, NSTEPS, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(train_vf[:, 0], np.repeat(step_v0, NSTEPS), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(agent.value(obs), step_v0, rtol=1e-6)
    # different observations give different outputs (the comparison above is not vacuous)
    other = agent.sess.run(sm.pi, {sm.X: random_obs(NENVS, 1)})
    assert not np.allclose(other, step_pi)


def test_step_samples_valid_actions(agent):
    actions, values = agent.step(random_obs(NENVS, 2))
    assert actions.shape == (NENVS,) and actions.dtype == np.int32
    assert np.all((0 <= actions) & (actions < 4))
    assert values.shape == (NENVS,) and values.dtype == np.float32


def test_initial_weights_are_the_seeded_orthogonal_draws(agent):
    # Same order of rng draws as the CnnPolicy: conv/fc weights with sqrt(2), the policy head with 0.01 (the
    # default, 2018 code), the value head with 1.0; biases 0.
    rng = np.random.RandomState(0)
    scales = [np.sqrt(2)] * 4 + [0.01, 1.0]
    expected = []
    for shape, scale in zip(SHAPES[0::2], scales):
        expected += [orthogonal(tuple(shape), scale, rng), None]
    for name, got, want in zip(NAMES, agent.get_params(), expected):
        if want is None:
            np.testing.assert_array_equal(got, 0.0, err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)


def test_same_seed_same_weights_different_seed_different(agent):
    reference = agent.get_params()
    same, other = make_agent(0), make_agent(1)
    try:
        for name, a, b in zip(NAMES, reference, same.get_params()):
            np.testing.assert_array_equal(a, b, err_msg=name)
        weights = [(n, a, b) for n, a, b in zip(NAMES, reference, other.get_params()) if n.endswith("/w")]
        assert all(not np.allclose(a, b) for _, a, b in weights)
    finally:
        same.close()
        other.close()


def test_two_agents_are_independent_graphs(agent):
    before = agent.get_params()
    other = make_agent(0)
    try:
        assert other.graph is not agent.graph and other.sess is not agent.sess
        rng = np.random.RandomState(3)
        obs = random_obs(NENVS * NSTEPS, 3)
        returns = rng.normal(0, 1, NENVS * NSTEPS).astype(np.float32)
        actions = rng.randint(0, 4, NENVS * NSTEPS).astype(np.int32)
        values = np.zeros(NENVS * NSTEPS, np.float32)
        for t in range(2):
            other.train(obs, returns, actions, values, timestep=t * NENVS * NSTEPS)
        trained = other.get_params()
        assert any(not np.array_equal(a, b) for a, b in zip(before, trained))
        for name, a, b in zip(NAMES, before, agent.get_params()):
            np.testing.assert_array_equal(a, b, err_msg=name)
        with agent.graph.as_default():
            assert len(tf1.trainable_variables()) == 12
    finally:
        other.close()


# ---- orthogonal init ------------------------------------------------------------------------------
def test_orthogonal_tall_matrix_has_orthonormal_columns():
    w = orthogonal((64, 32), 1.0, np.random.RandomState(0))
    assert w.shape == (64, 32) and w.dtype == np.float32
    np.testing.assert_allclose(w.T @ w, np.eye(32), atol=1e-5)


def test_orthogonal_wide_matrix_has_orthonormal_rows():
    w = orthogonal((32, 64), 1.0, np.random.RandomState(0))
    assert w.shape == (32, 64)
    np.testing.assert_allclose(w @ w.T, np.eye(32), atol=1e-5)


def test_orthogonal_conv_kernel_flattened():
    w = orthogonal((8, 8, 4, 32), 1.0, np.random.RandomState(0))
    assert w.shape == (8, 8, 4, 32)
    flat = w.reshape(256, 32)
    np.testing.assert_allclose(flat.T @ flat, np.eye(32), atol=1e-5)


def test_orthogonal_scale_multiplies():
    base = orthogonal((64, 32), 1.0, np.random.RandomState(0))
    scaled = orthogonal((64, 32), np.sqrt(2), np.random.RandomState(0))
    np.testing.assert_allclose(scaled, np.sqrt(2) * base, rtol=1e-6)
    np.testing.assert_allclose(scaled.T @ scaled, 2.0 * np.eye(32), atol=1e-5)
    kernel = orthogonal((3, 3, 64, 64), 0.5, np.random.RandomState(1)).reshape(576, 64)
    np.testing.assert_allclose(kernel.T @ kernel, 0.25 * np.eye(64), atol=1e-5)


def test_orthogonal_is_seeded_and_rejects_other_ranks():
    a = orthogonal((16, 8), 1.0, np.random.RandomState(7))
    np.testing.assert_array_equal(a, orthogonal((16, 8), 1.0, np.random.RandomState(7)))
    assert not np.allclose(a, orthogonal((16, 8), 1.0, np.random.RandomState(8)))
    with pytest.raises(ValueError):
        orthogonal((4, 4, 4), 1.0, np.random.RandomState(0))
