"""The A2C loss, its gradient and the RMSProp step, recomputed in numpy (float64) from the agent's weights."""
import numpy as np
import pytest
import tensorflow as tf
from gymnasium import spaces

import a2c_tf1
from a2c_tf1.layers import cat_entropy
from a2c_tf1.policies import CnnPolicy, MlpPolicy

tf1 = tf.compat.v1

ENT_COEF, VF_COEF = 0.01, 0.5
RHO, EPS = 0.99, 1e-5
NENVS, NSTEPS, NACT = 2, 3, 3
NBATCH = NENVS * NSTEPS


def make_mlp_agent(**kwargs):
    kw = dict(nenvs=NENVS, nsteps=NSTEPS, nstack=1, seed=0, num_threads=1, baselines="2017")  # the hand-computed numbers
    kw.update(kwargs)
    return a2c_tf1.Agent(MlpPolicy, spaces.Box(-1.0, 1.0, (3,), np.float32), spaces.Discrete(NACT), **kw)


@pytest.fixture
def mlp_agent():
    agent = make_mlp_agent()
    yield agent
    agent.close()


def make_batch(seed=0, nbatch=NBATCH, nact=NACT):
    rng = np.random.RandomState(seed)
    obs = rng.uniform(-1, 1, (nbatch, 3)).astype(np.float32)
    actions = rng.randint(0, nact, nbatch).astype(np.int32)
    returns = rng.normal(0.0, 2.0, nbatch).astype(np.float32)
    values = rng.normal(0.0, 1.0, nbatch).astype(np.float32)
    return obs, returns, actions, values


# ---- numpy reference of MlpPolicy and the loss ------------------------------------------------------
def np_forward(params, x):
    w1, b1, w2, b2, wp, bp, wv, bv = [np.asarray(p, np.float64) for p in params]
    h1 = np.tanh(x @ w1 + b1)
    h2 = np.tanh(h1 @ w2 + b2)
    return h1, h2, h2 @ wp + bp, (h2 @ wv + bv)[:, 0]


def np_log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def np_losses_from_outputs(logits, v, returns, actions, values):
    logits, v = np.asarray(logits, np.float64), np.asarray(v, np.float64)
    returns, values = np.asarray(returns, np.float64), np.asarray(values, np.float64)
    adv = returns - values
    logp = np_log_softmax(logits)
    pg = np.mean(adv * -logp[np.arange(len(actions)), actions])
    vf = np.mean((v - returns) ** 2 / 2.0)
    ent = np.mean(-np.sum(np.exp(logp) * logp, axis=1))
    return {"policy_loss": pg, "value_loss": vf, "policy_entropy": ent,
            "total_loss": pg - ENT_COEF * ent + VF_COEF * vf}


def np_loss(params, obs, returns, actions, values):
    _, _, logits, v = np_forward(params, obs.astype(np.float64))
    return np_losses_from_outputs(logits, v, returns, actions, values)["total_loss"]


def np_grads(params, obs, returns, actions, values):
    """Analytic gradient of the total loss w.r.t. [fc1/w, fc1/b, fc2/w, fc2/b, pi/w, pi/b, v/w, v/b]."""
    w1, b1, w2, b2, wp, bp, wv, bv = [np.asarray(p, np.float64) for p in params]
    x = obs.astype(np.float64)
    h1, h2, logits, v = np_forward(params, x)
    n = len(actions)
    adv = returns.astype(np.float64) - values.astype(np.float64)
    logp = np_log_softmax(logits)
    p = np.exp(logp)
    ent = -np.sum(p * logp, axis=1, keepdims=True)
    onehot = np.eye(logits.shape[1])[actions]
    # d pg / dz = ADV (p - onehot) / n ; d(-c H)/dz = c p (log p + H) / n
    dlogits = adv[:, None] * (p - onehot) / n + ENT_COEF * p * (logp + ent) / n
    dv = VF_COEF * (v - returns.astype(np.float64)) / n
    dh2 = dlogits @ wp.T + dv[:, None] @ wv.T
    dz2 = dh2 * (1.0 - h2 ** 2)
    dh1 = dz2 @ w2.T
    dz1 = dh1 * (1.0 - h1 ** 2)
    return [x.T @ dz1, dz1.sum(0), h1.T @ dz2, dz2.sum(0),
            h2.T @ dlogits, dlogits.sum(0), h2.T @ dv[:, None], np.array([dv.sum()])]


def np_rmsprop(params, grads, ms, lr):
    """TF1 ApplyRMSProp with momentum 0: ms = rho ms + (1-rho) g^2; w -= lr g / sqrt(ms + eps)."""
    new_ms = [RHO * m + (1 - RHO) * g ** 2 for m, g in zip(ms, grads)]
    new_params = [np.asarray(w, np.float64) - lr * g / np.sqrt(m + EPS) for w, g, m in zip(params, grads, new_ms)]
    return new_params, new_ms


def clip(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    return [g * max_norm / max(norm, max_norm) for g in grads], norm


# ---- forward pass and loss terms --------------------------------------------------------------------
def test_numpy_forward_matches_train_and_step_model(mlp_agent):
    obs = make_batch()[0]
    params = mlp_agent.get_params()
    assert mlp_agent.param_names == ["model/fc1/w", "model/fc1/b", "model/fc2/w", "model/fc2/b",
                                     "model/pi/w", "model/pi/b", "model/v/w", "model/v/b"]
    _, _, logits, v = np_forward(params, obs)
    tm = mlp_agent.train_model
    tf_logits, tf_vf = mlp_agent.sess.run([tm.pi, tm.vf], {tm.X: obs})
    assert tf_vf.shape == (NBATCH, 1)
    np.testing.assert_allclose(tf_logits, logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tf_vf[:, 0], v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mlp_agent.value(obs[:NENVS]), v[:NENVS], rtol=1e-5, atol=1e-6)


def test_loss_terms_match_numpy(mlp_agent):
    obs, returns, actions, values = make_batch(1)
    params = mlp_agent.get_params()
    _, _, logits, v = np_forward(params, obs)
    expected = np_losses_from_outputs(logits, v, returns, actions, values)
    stats = mlp_agent.train_with_diagnostics(obs, returns, actions, values, timestep=0)
    for key in ("policy_loss", "value_loss", "policy_entropy", "total_loss"):
        assert stats[key] == pytest.approx(expected[key], rel=1e-5, abs=1e-6), key
    assert stats["total_loss"] == pytest.approx(
        stats["policy_loss"] - ENT_COEF * stats["policy_entropy"] + VF_COEF * stats["value_loss"], rel=1e-5)
    # the step did change the weights, and the reported losses are those of the weights before it
    after = mlp_agent.get_params()
    assert any(not np.array_equal(a, b) for a, b in zip(params, after))
    assert stats["learning_rate"] == mlp_agent.lr_at(NBATCH - 1)


def test_loss_uses_the_tf_fetched_outputs(mlp_agent):
    # Same check with logits/values fetched from the train model, independent of the numpy forward pass.
    obs, returns, actions, values = make_batch(2)
    tm = mlp_agent.train_model
    logits, vf = mlp_agent.sess.run([tm.pi, tm.vf], {tm.X: obs})
    expected = np_losses_from_outputs(logits, vf[:, 0], returns, actions, values)
    pl, vl, ent = mlp_agent.train(obs, returns, actions, values)
    assert (pl, vl, ent) == pytest.approx(
        (expected["policy_loss"], expected["value_loss"], expected["policy_entropy"]), rel=1e-5, abs=1e-6)


def test_grad_norm_is_the_unclipped_global_norm(mlp_agent):
    obs, returns, actions, values = make_batch(3)
    _, norm = clip(np_grads(mlp_agent.get_params(), obs, returns, actions, values), 0.5)
    stats = mlp_agent.train_with_diagnostics(obs, returns, actions, values)
    assert stats["grad_norm"] == pytest.approx(norm, rel=1e-4)


def test_cnn_agent_loss_terms_match_numpy():
    agent = a2c_tf1.Agent(CnnPolicy, spaces.Box(0, 255, (84, 84, 1), np.uint8), spaces.Discrete(4),
                          nenvs=2, nsteps=3, nstack=4, seed=1, num_threads=1, baselines="2017")
    try:
        rng = np.random.RandomState(5)
        obs = rng.randint(0, 256, (6, 84, 84, 4)).astype(np.uint8)
        actions = rng.randint(0, 4, 6).astype(np.int32)
        returns = rng.normal(0, 1, 6).astype(np.float32)
        values = rng.normal(0, 1, 6).astype(np.float32)
        tm = agent.train_model
        logits, vf = agent.sess.run([tm.pi, tm.vf], {tm.X: obs})
        expected = np_losses_from_outputs(logits, vf[:, 0], returns, actions, values)
        stats = agent.train_with_diagnostics(obs, returns, actions, values)
        for key in ("policy_loss", "value_loss", "policy_entropy", "total_loss"):
            assert stats[key] == pytest.approx(expected[key], rel=1e-5, abs=1e-6), key
    finally:
        agent.close()


# ---- numerically safe entropy ---------------------------------------------------------------------
def test_cat_entropy_is_finite_for_extreme_logits():
    graph = tf.Graph()
    with graph.as_default():
        logits = tf1.placeholder(tf.float32, [None, 3])
        ent = cat_entropy(logits)
        grad = tf.gradients(tf.reduce_sum(ent), logits)[0]
        with tf1.Session(graph=graph) as sess:
            extreme = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], np.float32)
            e, g = sess.run([ent, grad], {logits: extreme})
            assert np.all(np.isfinite(e)) and np.all(np.isfinite(g))
            np.testing.assert_allclose(e, [0.0, np.log(3.0)], rtol=1e-6, atol=1e-6)
            # ordinary logits: -sum p log p
            normal = np.random.RandomState(0).normal(0, 2, (5, 3)).astype(np.float32)
            logp = np_log_softmax(normal.astype(np.float64))
            np.testing.assert_allclose(sess.run(ent, {logits: normal}), -np.sum(np.exp(logp) * logp, 1), rtol=1e-5)


# ---- RMSProp ----------------------------------------------------------------------------------------
def test_tf1_rmsprop_matches_numpy_reference():
    lr = 0.1
    w0 = np.array([1.0, -2.0, 0.5], np.float32)
    target = np.array([0.0, 1.0, 3.0])
    graph = tf.Graph()
    with graph.as_default():
        w = tf1.get_variable("w", initializer=w0)
        loss = tf.reduce_sum((w - target.astype(np.float32)) ** 2)  # grad = 2 (w - target)
        opt = tf1.train.RMSPropOptimizer(lr, decay=RHO, epsilon=EPS)
        train = opt.minimize(loss)
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(opt.get_slot(w, "rms")), np.ones(3))
            np.testing.assert_array_equal(sess.run(opt.get_slot(w, "momentum")), np.zeros(3))
            ref_w, ms = w0.astype(np.float64), np.ones(3)
            for _ in range(2):
                g = 2.0 * (ref_w - target)
                ms = RHO * ms + (1 - RHO) * g ** 2
                ref_w = ref_w - lr * g / np.sqrt(ms + EPS)
                sess.run(train)
                np.testing.assert_allclose(sess.run(w), ref_w, rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(sess.run(opt.get_slot(w, "rms")), ms, rtol=1e-5)
            # sanity: the moves are big enough that a wrong sign or a zero-initialised rms would show
            assert np.max(np.abs(ref_w - w0)) > 0.1


def test_numpy_gradient_reference_matches_finite_differences():
    agent = make_mlp_agent()
    try:
        params = [p.astype(np.float64) for p in agent.get_params()]
    finally:
        agent.close()
    obs, returns, actions, values = make_batch(4)
    grads = np_grads(params, obs, returns, actions, values)
    rng = np.random.RandomState(0)
    h = 1e-6
    for i, p in enumerate(params):
        for _ in range(3):
            idx = tuple(rng.randint(0, s) for s in p.shape)
            plus = [q.copy() for q in params]
            minus = [q.copy() for q in params]
            plus[i][idx] += h
            minus[i][idx] -= h
            batch = (obs, returns, actions, values)
            fd = (np_loss(plus, *batch) - np_loss(minus, *batch)) / (2 * h)
            assert grads[i][idx] == pytest.approx(fd, rel=1e-5, abs=1e-9), (i, idx)


def test_value_bias_first_step():
    # rms starts at 1, so delta b = -lr g / sqrt(0.99 + 0.01 g^2 + 1e-5) with g = vf_coef * mean(v - R).
    agent = make_mlp_agent(max_grad_norm=None, lr=0.05, lrschedule="linear", total_timesteps=60)
    try:
        obs, returns, actions, values = make_batch(5)
        before = agent.get_params()
        v = np_forward(before, obs)[3]
        g = VF_COEF * np.mean(v - returns)
        timestep = 12
        lr = agent.lr_at(timestep + NBATCH - 1)
        assert lr == pytest.approx(0.05 * (1 - 17 / 60))
        agent.train_with_diagnostics(obs, returns, actions, values, timestep=timestep)
        delta = agent.get_params()[-1] - before[-1]
        expected = -lr * g / np.sqrt(RHO + (1 - RHO) * g ** 2 + EPS)
        assert abs(expected) > 1e-3
        np.testing.assert_allclose(delta, [expected], rtol=1e-4)
    finally:
        agent.close()


@pytest.mark.parametrize("max_grad_norm,lr", [(None, 0.05), (0.01, 2.0)])
def test_two_agent_steps_match_numpy_rmsprop(max_grad_norm, lr):
    agent = make_mlp_agent(max_grad_norm=max_grad_norm, lr=lr, lrschedule="linear", total_timesteps=60)
    try:
        params = [p.astype(np.float64) for p in agent.get_params()]
        for v in agent.params:
            np.testing.assert_array_equal(agent.sess.run(agent.optimizer.get_slot(v, "rms")), 1.0)
        ms = [np.ones_like(p) for p in params]
        for step, seed in enumerate((6, 7)):
            obs, returns, actions, values = make_batch(seed)
            grads = np_grads(params, obs, returns, actions, values)
            norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
            if max_grad_norm is not None:
                assert norm > max_grad_norm  # the clip is active
                grads, _ = clip(grads, max_grad_norm)
            timestep = step * NBATCH
            expected, ms = np_rmsprop(params, grads, ms, agent.lr_at(timestep + NBATCH - 1))
            stats = agent.train_with_diagnostics(obs, returns, actions, values, timestep=timestep)
            assert stats["grad_norm"] == pytest.approx(norm, rel=1e-4)
            got = agent.get_params()
            moved = max(np.max(np.abs(e - p)) for e, p in zip(expected, params))
            assert moved > 1e-3
            for name, g, e in zip(agent.param_names, got, expected):
                np.testing.assert_allclose(g, e, rtol=0, atol=2e-5 * max(1.0, moved * 10), err_msg=name)
            params = [g.astype(np.float64) for g in got]
        for (var, m) in zip(agent.params, ms):
            np.testing.assert_allclose(agent.sess.run(agent.optimizer.get_slot(var, "rms")), m, rtol=1e-4)
    finally:
        agent.close()


# ---- the 2018 code generation ---------------------------------------------------------------------------
def test_2018_value_loss_is_the_unhalved_squared_error():
    obs, returns, actions, values = make_batch(4)
    agent = make_mlp_agent(baselines="2018")
    try:
        tm = agent.train_model
        vf = agent.sess.run(tm.vf, {tm.X: obs})[:, 0]
        stats = agent.train_with_diagnostics(obs, returns, actions, values)
    finally:
        agent.close()
    # 2018: losses.mean_squared_error(V, R), no /2.
    assert stats["value_loss"] == pytest.approx(np.mean((vf.astype(np.float64) - returns) ** 2), rel=1e-5)


def test_2018_policy_head_starts_100_times_smaller_with_the_same_trunk():
    agents = {gen: make_mlp_agent(baselines=gen) for gen in ("2017", "2018")}
    try:
        params = {gen: dict(zip(agent.param_names, agent.get_params())) for gen, agent in agents.items()}
    finally:
        for agent in agents.values():
            agent.close()
    for name in params["2017"]:
        if name == "model/pi/w":  # same orthogonal draw, init_scale 0.01 instead of 1.0
            np.testing.assert_allclose(params["2018"][name], 0.01 * params["2017"][name], rtol=1e-5)
        else:
            np.testing.assert_array_equal(params["2018"][name], params["2017"][name])


def test_unknown_generation_is_refused():
    with pytest.raises(ValueError, match="unknown baselines generation '2019'"):
        make_mlp_agent(baselines="2019")
