"""Recurrent policies: the unrolled train model against the step model, masks, LnLSTM against numpy."""
import numpy as np
import pytest
from gymnasium import spaces

from a2c_tf1.agent import Agent
from a2c_tf1.policies import LnLstmPolicy, LstmPolicy

NENV, NSTEPS, NLSTM = 3, 4, 256


def _agent(policy, ob_space=spaces.Box(0.0, 1.0, (5,), np.float32), seed=0):
    return Agent(policy, ob_space, spaces.Discrete(3), NENV, NSTEPS, 1, seed=seed)


def _train_outputs(agent, obs, state, masks):
    model = agent.train_model
    return agent.sess.run([model.pi, model.v0, model.snew], {model.X: obs, model.S: state, model.M: masks})


@pytest.mark.parametrize("policy", [LstmPolicy, LnLstmPolicy])
def test_unrolled_train_model_equals_the_step_model_step_by_step(policy):
    agent = _agent(policy)
    rng = np.random.default_rng(0)
    obs = rng.random((NENV, NSTEPS, 5), dtype=np.float32)
    masks = np.zeros((NENV, NSTEPS), np.float32)
    masks[1, 2] = 1.0  # env 1's episode ended before its third step
    state0 = rng.normal(size=(NENV, 2 * NLSTM)).astype(np.float32)
    logits, values, final_state = _train_outputs(agent, obs.reshape(NENV * NSTEPS, 5), state0, masks.ravel())
    state = state0
    step = agent.step_model
    for t in range(NSTEPS):
        step_logits, step_values, state = agent.sess.run(
            [step.pi, step.v0, step.snew], {step.X: obs[:, t], step.S: state, step.M: masks[:, t]})
        np.testing.assert_allclose(logits.reshape(NENV, NSTEPS, -1)[:, t], step_logits, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(values.reshape(NENV, NSTEPS)[:, t], step_values, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(final_state, state, rtol=1e-5, atol=1e-5)


def test_a_mask_of_one_zeroes_the_state():
    agent = _agent(LstmPolicy)
    obs = np.random.default_rng(1).random((NENV, 5), dtype=np.float32)
    busy_state = np.random.default_rng(2).normal(size=(NENV, 2 * NLSTM)).astype(np.float32)
    zero_state = np.zeros_like(busy_state)
    step = agent.step_model

    def run(state, mask):
        return agent.sess.run([step.pi, step.snew], {step.X: obs, step.S: state, step.M: mask})

    masked = run(busy_state, np.ones(NENV, np.float32))
    fresh = run(zero_state, np.zeros(NENV, np.float32))
    carried = run(busy_state, np.zeros(NENV, np.float32))
    for a, b in zip(masked, fresh):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert not np.allclose(masked[1], carried[1])


def _numpy_layer_norm(x, gain, bias, eps=1e-5):
    mean = x.mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=1, keepdims=True) + eps) * gain + bias


def test_lnlstm_step_matches_numpy_on_fixed_weights():
    agent = _agent(LnLstmPolicy, seed=4)
    rng = np.random.default_rng(3)
    # Non-trivial gains and biases, so a wrong normalisation cannot hide behind g=1, b=0.
    with agent.graph.as_default():
        names = ["gx", "bx", "gh", "bh", "b", "gc", "bc"]
        variables = {v.op.name.split("/")[-1]: v for v in agent.params if "lstm1" in v.op.name}
        values = {n: rng.normal(1.0 if n.startswith("g") else 0.0, 0.3, size=variables[n].shape.as_list()).astype(np.float32)
                  for n in names}
    index = {n: agent.param_names.index(f"model/lstm1/{n}") for n in names}
    params = agent.get_params()
    for n in names:
        params[index[n]] = values[n]
    agent._assign(params, with_slots=False)
    weights = dict(zip(agent.param_names, agent.get_params()))
    obs = rng.random((NENV, 5), dtype=np.float32)
    state = rng.normal(size=(NENV, 2 * NLSTM)).astype(np.float32)
    step = agent.step_model
    new_state = agent.sess.run(step.snew, {step.X: obs, step.S: state, step.M: np.zeros(NENV, np.float32)})

    w = {k.split("/")[-2] + "/" + k.split("/")[-1]: v for k, v in weights.items()}
    h = np.tanh(obs @ w["fc1/w"] + w["fc1/b"])
    x = np.tanh(h @ w["fc2/w"] + w["fc2/b"])
    c, hid = state[:, :NLSTM], state[:, NLSTM:]
    z = (_numpy_layer_norm(x @ w["lstm1/wx"], w["lstm1/gx"], w["lstm1/bx"])
         + _numpy_layer_norm(hid @ w["lstm1/wh"], w["lstm1/gh"], w["lstm1/bh"]) + w["lstm1/b"])
    i, f, o, u = np.split(z, 4, axis=1)
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(u)
    hid = sigmoid(o) * np.tanh(_numpy_layer_norm(c, w["lstm1/gc"], w["lstm1/bc"]))
    np.testing.assert_allclose(new_state, np.concatenate([c, hid], axis=1), rtol=1e-4, atol=1e-5)


def test_lstm_checkpoint_holds_the_lstm_weights(tmp_path):
    agent = _agent(LnLstmPolicy)
    assert [n for n in agent.param_names if "lstm1" in n] == [
        f"model/lstm1/{n}" for n in ["wx", "gx", "bx", "wh", "gh", "bh", "b", "gc", "bc"]]
    agent.save(str(tmp_path / "x.save"))
    other = _agent(LnLstmPolicy, seed=9)
    other.load(str(tmp_path / "x.save"))
    for a, b in zip(agent.get_params(), other.get_params()):
        np.testing.assert_array_equal(a, b)


def _cue_recall_success(policy, steps=150_000, seed=0):
    """Success rate over the last 500 games of the built-in cue-recall task (cue at step 0, answer at 4)."""
    import io

    from a2c_tf1.envs import CUE_RECALL_ID, make_vec_env
    from a2c_tf1.logger import Logger
    from a2c_tf1.train import learn

    nenvs, nsteps = 16, 5  # one game is 5 steps, so each rollout holds one whole game per env
    env = make_vec_env(CUE_RECALL_ID, nenvs, seed)
    agent = Agent(policy, env.observation_space, env.action_space, nenvs, nsteps, 1, lr=2e-3,
                  lrschedule="constant", total_timesteps=steps, seed=seed)
    log_dir = __import__("tempfile").mkdtemp()
    logger = Logger(log_dir, stream=io.StringIO(), tensorboard=False)
    learn(agent, env, steps, logger, nsteps=nsteps, nstack=1, log_interval=10**9)
    logger.close()
    env.close()
    scores = np.genfromtxt(f"{log_dir}/monitor.csv", delimiter=",", skip_header=2)[:, 0]
    return scores[-500:].mean()


def test_lstm_remembers_the_cue_and_the_feed_forward_policy_cannot():
    from a2c_tf1.policies import MlpPolicy

    assert _cue_recall_success(LstmPolicy) >= 0.9
    assert 0.4 <= _cue_recall_success(MlpPolicy) <= 0.6  # chance is 0.5 with two cues
