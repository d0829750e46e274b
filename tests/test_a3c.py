"""A3C (a2c_tf1/a3c): the global/local update rule, checkpoints in the A2C's format, worker errors,
signals, settings and the command line. Tiny budgets; the learning runs are in test_a3c_learning.py."""
from __future__ import annotations

import io
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from a2c_tf1.a3c import checkpoints
from a2c_tf1.a3c.cli import build_parser, config_from_args
from a2c_tf1.a3c.config import A3CConfig, default_threads
from a2c_tf1.a3c.envs import WorkerEnv
from a2c_tf1.a3c.presets import PRESETS
from a2c_tf1.a3c.train import WorkerError, build_threads, prepare_global, probe_spaces, train_threads
from a2c_tf1.a3c.worker import Worker, lr_at
from a2c_tf1.agent import Agent
from a2c_tf1.logger import Logger
from a2c_tf1.policies import Cnn2013Policy

tf1 = tf.compat.v1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD_ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def cartpole(tmp_path, **overrides) -> A3CConfig:
    values = {**PRESETS["a3c-cartpole"].overrides, "threads": 2, "models_dir": str(tmp_path / "m"),
              "log_dir": str(tmp_path / "l"), **overrides}
    return A3CConfig(**values).resolved(image_observations=False)


def session_for(config: A3CConfig):
    ob_space, ac_space = probe_spaces(config)
    graph, glob, locals_ = build_threads(config, ob_space, ac_space)
    sess = tf1.Session(graph=graph)
    sess.run([glob.initializer] + [local.initializer for local in locals_])
    return sess, glob, locals_


def fake_rollout(local, config, rng):
    t = config.t_max
    obs = rng.normal(size=(t,) + tuple(local.train_model.X.shape.as_list()[1:])).astype(np.float32)
    return {local.train_model.X: obs, local.A: rng.integers(0, 2, t).astype(np.int32),
            local.ADV: rng.normal(size=t).astype(np.float32), local.R: rng.normal(size=t).astype(np.float32),
            local.W: np.ones(t, np.float32), local.NSTEPS: t, local.NEPISODES: 1}


def test_an_update_changes_the_global_weights_and_no_local_copy_until_it_syncs(tmp_path):
    config = cartpole(tmp_path)
    sess, glob, (w0, w1) = session_for(config)
    sess.run([w0.sync, w1.sync])
    global_before = sess.run(glob.params)
    local0_before, local1_before = sess.run(w0.params), sess.run(w1.params)
    for a, b in zip(global_before, local1_before):
        np.testing.assert_array_equal(a, b)
    feed = fake_rollout(w0, config, np.random.default_rng(0))
    feed[glob.LR] = 1e-2
    step, episodes = sess.run([w0.step_after, w0.episodes_after], feed)
    assert (step, episodes) == (config.t_max, 1)
    global_after = sess.run(glob.params)
    assert all(not np.array_equal(a, b) for a, b in zip(global_before, global_after)), "every weight gets a gradient"
    # Neither the updating worker's copy nor the other worker's copy moved: the update went to the global weights.
    for before, after in zip(local0_before + local1_before, sess.run(w0.params) + sess.run(w1.params)):
        np.testing.assert_array_equal(before, after)
    sess.run(w1.sync)
    for a, b in zip(global_after, sess.run(w1.params)):
        np.testing.assert_array_equal(a, b)
    for before, after in zip(local0_before, sess.run(w0.params)):
        np.testing.assert_array_equal(before, after)
    sess.close()


def test_one_shared_optimizer_whose_slots_live_with_the_global_weights(tmp_path):
    config = cartpole(tmp_path)
    sess, glob, locals_ = session_for(config)
    worker_vars = [v.op.name for v in sess.graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)
                   if v.op.name.startswith("worker_")]
    local_names = {v.op.name for local in locals_ for v in local.params}
    assert set(worker_vars) == local_names, "a worker scope holds its network's weights and nothing else"
    assert len(glob.optimizers) == 1
    slots = dict(glob.state_variables)
    assert {"model/fc1/w/m", "model/fc1/w/v", "global_step", "episodes"} <= set(slots)
    assert slots["model/fc1/w/m"].op.name == "global/model/fc1/w/Adam"
    assert all(v.op.name.startswith("global/") for v in slots.values()), [v.op.name for v in slots.values()]
    sess.close()


def test_two_towers_have_two_optimizers_each_over_its_own_tower(tmp_path):
    config = A3CConfig(**{**PRESETS["a3c-breakout"].overrides, "threads": 1,
                          "models_dir": str(tmp_path / "m")}).resolved(image_observations=True)
    ob_space, ac_space = probe_spaces(config)
    assert ac_space.n == 3
    graph, glob, _ = build_threads(config, ob_space, ac_space)
    assert [v.split("/")[1] for v in glob.param_names] == ["actor"] * 8 + ["critic"] * 8
    assert glob.param_names[:2] == ["model/actor/c1/w", "model/actor/c1/b"]
    assert len(glob.optimizers) == 2
    names = [n for n, _ in glob.state_variables]
    slots = dict(glob.state_variables)
    assert len(slots) == len(names), "no slot is saved twice"
    assert {n.rsplit("/", 1)[0] for n in names if "/actor/" in n or "/critic/" in n} == set(glob.param_names)
    assert slots["model/actor/pi/w/m"].op.name == "global/model/actor/pi/w/Adam_actor"
    assert slots["model/critic/v/w/m"].op.name == "global/model/critic/v/w/Adam_critic"


def test_checkpoint_loads_into_the_a2c_agent_with_identical_actions_and_resumes_exactly(tmp_path):
    config = A3CConfig(env_id="BreakoutNoFrameskip-v4", threads=1, models_dir=str(tmp_path / "m"),
                       policy="cnn-2013", optimizer="rmsprop").resolved(image_observations=True)
    ob_space, ac_space = probe_spaces(config)
    graph, glob, (local,) = build_threads(config, ob_space, ac_space)
    sess = tf1.Session(graph=graph)
    sess.run([glob.initializer, local.initializer])
    sess.run(local.sync)  # after the initializers: one run gives no order between its ops
    rng = np.random.default_rng(1)
    feed = {local.train_model.X: rng.integers(0, 256, (5, 84, 84, 4), dtype=np.uint8),
            local.A: rng.integers(0, 4, 5).astype(np.int32), local.ADV: rng.normal(size=5).astype(np.float32),
            local.R: rng.normal(size=5).astype(np.float32), local.W: np.ones(5, np.float32),
            local.NSTEPS: 5, local.NEPISODES: 2, glob.LR: 1e-3}
    sess.run([local.step_after, local.episodes_after], feed)
    assert checkpoints.save(sess, glob, config.save_path) == 5
    assert config.save_path == str(tmp_path / "m" / "a3c" / "BreakoutNoFrameskip-v4.save")

    agent = Agent(Cnn2013Policy, ob_space, ac_space, 1, 1, 4, num_threads=1)
    assert agent.param_names == glob.param_names, "the A2C's names and order"
    agent.load(config.save_path)
    for a, b in zip(agent.get_params(), sess.run(glob.params)):
        np.testing.assert_array_equal(a, b)
    obs = rng.integers(0, 256, (8, 1, 84, 84, 4), dtype=np.uint8)
    a3c_logits = [sess.run(glob.model.pi, {glob.model.X: o}) for o in obs]
    np.testing.assert_array_equal([agent.greedy_step(o)[0] for o in obs], [np.argmax(l[0]) for l in a3c_logits])
    agent.close()
    # The A2C's own command line plays it.
    proc = subprocess.run([sys.executable, "run_breakout.py", "--evaluate", "--policy", "cnn-2013", "--models-dir",
                           str(tmp_path / "m" / "a3c"), "--episodes", "1", "--max-steps", "20"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, env=CHILD_ENV)
    assert proc.returncode == 0 and "BreakoutNoFrameskip-v4: 1 games" in proc.stdout, proc.stderr[-2000:]

    # A fresh graph restores the weights, the RMSProp statistics and both counters.
    state = glob.get_state(sess)
    graph2, glob2, _ = build_threads(config, ob_space, ac_space)
    sess2 = tf1.Session(graph=graph2)
    sess2.run(glob2.initializer)
    assert checkpoints.restore(sess2, glob2, config.save_path) == (5, 2)
    for name, value in glob2.get_state(sess2).items():
        np.testing.assert_array_equal(value, state[name], err_msg=name)
    for name, restored, saved in zip(glob.param_names, sess2.run(glob2.params), sess.run(glob.params)):
        np.testing.assert_array_equal(restored, saved, err_msg=name)
    assert glob2.is_ready(sess2) is False, "restore alone does not mark the network ready; prepare_global does"
    sess.close()
    sess2.close()


class _FailingEnv(WorkerEnv):
    steps = 0

    def step(self, action):
        type(self).steps += 1
        if type(self).steps == 300:
            raise RuntimeError("the emulator fell over")
        return super().step(action)


def test_an_exception_in_any_worker_stops_the_run_with_that_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_FailingEnv, "steps", 0)  # counted across both workers' envs, from 0 in every run
    monkeypatch.setattr("a2c_tf1.a3c.train.WorkerEnv", _FailingEnv)
    config = cartpole(tmp_path, num_timesteps=10**7)
    logger = Logger(config.log_dir, stream=io.StringIO(), tensorboard=False)
    with pytest.raises(WorkerError, match="worker [01] failed: RuntimeError: the emulator fell over") as info:
        train_threads(config, logger, stream=io.StringIO())
    logger.close()
    assert "Traceback" in info.value.details
    assert not os.path.exists(config.save_path), "nothing is saved after a worker error"
    assert not [t for t in threading.enumerate() if t.name.startswith("a3c-worker")], "every worker thread has ended"


def signal_once_training(path: str, signum: int, timeout: float = 180.0) -> threading.Thread:
    """A thread that sends ``signum`` to this process once ``path`` (a log file) exists, so the signal
    lands while the run's handlers are installed; it gives up silently after ``timeout`` seconds."""
    def send():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(path) and os.path.getsize(path) > 0:
                time.sleep(1.0)  # a few more rollouts
                os.kill(os.getpid(), signum)
                return
            time.sleep(0.2)

    thread = threading.Thread(target=send, name="signal-sender", daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_every_worker_saves_and_the_run_resumes(tmp_path, signum):
    """SIGTERM (``kill``, ``nohup ... &``) and SIGINT (Ctrl-C) stop the run the same way."""
    config = cartpole(tmp_path, num_timesteps=10**7, log_interval=500)
    logger = Logger(config.log_dir, stream=io.StringIO(), tensorboard=False)
    sender = signal_once_training(os.path.join(config.log_dir, "progress.csv"), signum)
    try:
        outcome = train_threads(config, logger, stream=io.StringIO())
    finally:
        logger.close()
        sender.join(timeout=5)
    assert outcome.reason == signal.Signals(signum).name and 0 < outcome.global_step < config.num_timesteps
    assert not [t for t in threading.enumerate() if t.name.startswith("a3c-worker")], "every worker thread has ended"
    state = checkpoints.checkpoint.load_params(config.save_path + ".state")
    assert int(state["global_step"]) == outcome.global_step
    # The same settings with a budget already reached resume, see it and stop at once.
    stream = io.StringIO()
    logger = Logger(config.log_dir, stream=io.StringIO(), tensorboard=False)
    again = train_threads(cartpole(tmp_path, num_timesteps=outcome.global_step), logger, stream=stream)
    logger.close()
    assert again.global_step == outcome.global_step
    assert f"resuming from {config.save_path} at global step {outcome.global_step:,}" in stream.getvalue()


def test_learning_rate_schedules():
    seed003 = A3CConfig(**PRESETS["a3c-breakout"].overrides)
    assert lr_at(seed003, 0, 0) == pytest.approx(1e-3)  # 1e-3 / log10(10)
    assert lr_at(seed003, 123, 900) == pytest.approx(1e-3 / math.log10(19.0))
    paper = A3CConfig(**PRESETS["a3c-atari"].overrides)
    assert lr_at(paper, paper.num_timesteps // 4, 10**6) == pytest.approx(7e-4 * 0.75)


def parse(*argv):
    return config_from_args(build_parser().parse_args(list(argv)))


def test_presets_and_defaults():
    paper = parse("--preset", "a3c-atari", "--env", "PongNoFrameskip-v4")
    assert (paper.env_id, paper.policy, paper.threads, paper.t_max, paper.optimizer, paper.alpha, paper.epsilon,
            paper.lr, paper.lrschedule, paper.max_grad_norm, paper.nstack) == (
        "PongNoFrameskip-v4", "cnn-2013", 16, 5, "rmsprop", 0.99, 0.1, 7e-4, "linear", 40.0, 4)
    plain = parse("--env", "PongNoFrameskip-v4")  # the paper's settings, one worker per core
    assert (plain.threads, plain.t_max, plain.epsilon) == (default_threads(), 5, 0.1)
    cart = parse("--env", "CartPole-v1", "--threads", "2")
    assert (cart.policy, cart.threads, cart.nstack, cart.optimizer) == ("mlp", 2, 1, "adam")
    assert (parse().env_id, parse().threads) == ("BreakoutNoFrameskip-v4", default_threads())
    seed004 = parse("--preset", "a3c-lstm-cartpole")
    assert (seed004.policy, seed004.t_max, seed004.head_init, seed004.gae_lambda) == ("lstm", 30, "normc", 1.0)
    seed003 = parse("--preset", "a3c-pong", "--threads", "3")
    assert (seed003.action_set, seed003.t_max, seed003.lrschedule, seed003.threads) == (
        (1, 2, 3, 4, 5), 20, "episode-log", 3)
    assert parse("--preset", "a3c-breakout").threads == default_threads()
    assert parse("--env", "CartPole-v1", "--models-dir", "x").save_path == os.path.join("x", "a3c", "CartPole-v1.save")


@pytest.mark.parametrize("name", [n for n in sorted(PRESETS) if PRESETS[n].overrides.get("action_set")])
def test_seed_003_action_sets_fit_their_games(name):
    config = A3CConfig(**PRESETS[name].overrides)
    env = WorkerEnv(config.env_id, 0, action_set=config.action_set)
    assert env.action_space.n == len(config.action_set)
    assert env.observation_space.shape == (84, 84, 1)
    env.reset()
    assert env.step(env.action_space.n - 1).obs.shape == (84, 84, 1)
    env.close()


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "a2c_tf1.a3c", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=CHILD_ENV)


@pytest.mark.parametrize("args, fragment", [
    (["--threads", "0"], "--threads"),
    (["--preset", "a3c-seaquest"], "unknown preset"),
    (["--env", "NoSuchGame-v9"], "unknown environment"),
    (["--policy", "transformer"], "unknown --policy"),
    (["--env", "CartPole-v1", "--action-set", "1,2"], "--action-set"),
    (["--env", "CartPole-v1", "--job", "worker"], "--job needs --task and --cluster-spec"),
    (["--env", "CartPole-v1", "--job", "worker", "--task", "0", "--cluster-spec", "/nonexistent.json"],
     "cannot read the cluster spec"),
    (["--env", "CartPole-v1", "--evaluate"], "not an ALE id"),
    (["--preset", "a3c-breakout", "--evaluate", "--models-dir", "/nonexistent"], "no checkpoint at"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(args, fragment):
    proc = run_cli(*args)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("python -m a2c_tf1.a3c: error:")]
    assert len(errors) == 1 and fragment in errors[0], proc.stderr


def test_resume_with_other_settings_is_one_line_and_touches_nothing_while_more_steps_and_threads_may_change(tmp_path):
    common = ["--preset", "a3c-cartpole", "--models-dir", tmp_path / "m", "--log-dir", tmp_path / "l",
              "--log-interval", 100]
    first = run_cli(*common, "--threads", 2, "--num-timesteps", 300)
    assert first.returncode == 0, first.stderr[-3000:]
    files = sorted((tmp_path / "m" / "a3c").iterdir()) + sorted((tmp_path / "l").glob("*.csv"))
    before = {p: p.read_bytes() for p in files}
    # --nstack changes the first layer's shape too: the settings are compared before any weight is loaded.
    changed = run_cli(*common, "--threads", 2, "--num-timesteps", 600, "--lr", "2e-3", "--t-max", 10, "--nstack", 2)
    assert changed.returncode != 0 and "Traceback" not in changed.stderr
    errors = [line for line in changed.stderr.splitlines() if line.startswith("python -m a2c_tf1.a3c: error:")]
    assert len(errors) == 1, changed.stderr
    assert "other settings (" in errors[0], errors[0]
    assert all(change in errors[0] for change in ("--lr 0.001 -> 0.002", "--t-max 20 -> 10", "--nstack 1 -> 2"))
    assert {p: p.read_bytes() for p in files} == before
    # more global steps and another number of workers go on from the checkpoint
    more = run_cli(*common, "--threads", 1, "--num-timesteps", 600)
    assert more.returncode == 0, more.stderr[-3000:]
    assert "resuming from" in more.stdout and "trained to global step" in more.stdout


def test_presets_command_lists_every_preset():
    proc = run_cli("presets")
    assert proc.returncode == 0
    assert [line.split()[0] for line in proc.stdout.splitlines()] == list(PRESETS)


def test_seed_003_preset_trains_saves_and_plays_through_the_cli(tmp_path):
    common = ["--preset", "a3c-breakout", "--threads", "1", "--models-dir", tmp_path / "m"]
    proc = run_cli(*common, "--num-timesteps", 60, "--log-dir", tmp_path / "l", "--log-interval", 20, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "trained to global step" in proc.stdout
    progress = (tmp_path / "l" / "progress.csv").read_text().splitlines()
    assert progress[0].startswith("nupdates,total_timesteps,fps,global_episodes,policy_loss")
    proc = run_cli(*common, "--evaluate", "--episodes", 1, "--max-steps", 30, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "BreakoutNoFrameskip-v4: 1 games" in proc.stdout


def test_the_dashboard_reads_an_a3c_log_folder(tmp_path):
    from a2c_tf1.plot import draw_dashboard

    config = cartpole(tmp_path, num_timesteps=3000, log_interval=1000)
    logger = Logger(config.log_dir, stream=io.StringIO(), tensorboard=True)
    assert train_threads(config, logger, stream=io.StringIO()).reason == "done"
    logger.close()
    assert draw_dashboard([config.log_dir], str(tmp_path / "d.png")) >= 12
    assert os.path.getsize(tmp_path / "d.png") > 10_000


class _ShortCartPole(WorkerEnv):
    """CartPole cut by a time limit after 3 steps: every episode ends truncated, never terminal."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        import gymnasium as gym

        self._env = gym.make("CartPole-v1", max_episode_steps=3)


class _StopAfter:
    def __init__(self, stop, count):
        self.stop, self.count, self.items = stop, count, []

    def put(self, item):
        self.items.append(item)
        if len(self.items) >= self.count:
            self.stop.set()


def test_a_time_limit_is_bootstrapped_from_the_final_observation(tmp_path, monkeypatch):
    import a2c_tf1.a3c.worker as worker_module

    config = cartpole(tmp_path, threads=1, t_max=20)
    sess, glob, (local,) = session_for(config)
    env = _ShortCartPole(config.env_id, 0)
    worker = Worker(local, glob, env, config, sess)
    seen = []
    real_returns = worker_module.nstep_returns
    monkeypatch.setattr(worker_module, "nstep_returns", lambda *a: seen.append(a) or real_returns(*a))
    values_of, valued_stacks = [], []
    real_value = worker._value_of

    def value_of(stack, *rest):
        valued_stacks.append(stack.copy())
        values_of.append(real_value(stack, *rest))
        return values_of[-1]

    worker._value_of = value_of
    steps, resets = [], []
    real_step, real_reset = env.step, env.reset
    env.step = lambda action: steps.append(real_step(action)) or steps[-1]
    env.reset = lambda: resets.append(real_reset()) or resets[-1]
    stop = threading.Event()
    worker.run(stop, _StopAfter(stop, 2))
    rewards, next_values, terminals, ends, gamma = seen[0]
    assert len(rewards) == 3, "the rollout stops at the episode end, before t_max"
    assert not terminals[-1] and ends[-1] and steps[2].truncated
    # The value that bootstraps the cut is of the observation the limit cut at, not of the next game's first.
    np.testing.assert_array_equal(valued_stacks[0], steps[2].obs)
    assert not np.array_equal(valued_stacks[0], resets[1])
    assert next_values[-1] == values_of[0] != 0.0, "V(final observation), not 0"
    # R2 = r2 + gamma * V(final obs): the limit cut the episode, it did not end it.
    assert real_returns(*seen[0])[-1] == pytest.approx(1.0 + 0.99 * values_of[0], rel=1e-5)
    env.close()
    sess.close()


def test_a_newer_state_beside_an_older_save_resumes_from_the_state_weights(tmp_path):
    from a2c_tf1.checkpoint import CheckpointError, load_params, save_params

    config = cartpole(tmp_path, threads=1)
    sess, glob, (local,) = session_for(config)
    path = config.save_path
    checkpoints.save(sess, glob, path)
    older_save = (tmp_path / "older.save")
    older_save.write_bytes(open(path, "rb").read())
    feed = fake_rollout(local, config, np.random.default_rng(2))
    feed[glob.LR] = 1e-2
    sess.run([local.step_after, local.episodes_after], feed)
    checkpoints.save(sess, glob, path)
    newest = sess.run(glob.params)
    os.replace(older_save, path)  # as if stopped after the .state was written and before the .save

    sess2, glob2, _ = session_for(config)
    notes = []
    assert checkpoints.restore(sess2, glob2, path, notes.append) == (config.t_max, 1)
    assert "older than" in notes[0]
    for a, b in zip(newest, sess2.run(glob2.params)):
        np.testing.assert_array_equal(a, b)

    state = load_params(path + ".state")
    state["weights/model/pi/b"] = state["weights/model/pi/b"] + 1.0
    save_params(path + ".state", state)
    with pytest.raises(CheckpointError, match="do not match their fingerprint"):
        checkpoints.restore(sess2, glob2, path)
    sess.close()
    sess2.close()


def test_a_failed_restore_leaves_the_global_network_not_ready(tmp_path):
    from a2c_tf1.checkpoint import CheckpointError, save_params

    config = cartpole(tmp_path, threads=1)
    sess, glob, _ = session_for(config)
    assert not glob.is_ready(sess), "initialised is not ready"
    assert prepare_global(sess, glob, config, print) == (0, 0) and glob.is_ready(sess)
    checkpoints.save(sess, glob, config.save_path)
    os.remove(config.save_path + ".state")
    save_params(config.save_path, [np.zeros(3, np.float32)])  # weights of some other network
    sess2, glob2, _ = session_for(config)
    with pytest.raises(CheckpointError):
        prepare_global(sess2, glob2, config, print)
    assert not glob2.is_ready(sess2), "no worker may train on (and no chief save over it with) these weights"
    sess.close()
    sess2.close()


def test_a_failing_save_stops_every_worker_and_reaches_the_caller(tmp_path, monkeypatch):
    def full_disk(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("a2c_tf1.a3c.train.checkpoints.save", full_disk)
    config = cartpole(tmp_path, num_timesteps=10**7, save_interval=500)
    logger = Logger(config.log_dir, stream=io.StringIO(), tensorboard=False)
    with pytest.raises(OSError, match="No space left"):
        train_threads(config, logger, stream=io.StringIO())
    logger.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("a3c-worker")], "every worker thread has ended"


class _NanRewardEnv(WorkerEnv):
    """CartPole whose every reward is NaN: the returns, the advantages and so the loss become NaN."""

    def step(self, action):
        return super().step(action)._replace(reward=float("nan"))


def test_a_non_finite_update_is_refused_and_the_global_weights_stay_as_they_were(tmp_path, monkeypatch):
    from a2c_tf1.a3c.graph import NONFINITE_UPDATE
    from a2c_tf1.a3c.worker import TrainingDiverged

    config = cartpole(tmp_path, threads=1)
    sess, glob, (local,) = session_for(config)
    before, state_before = glob.snapshot(sess)
    feed = fake_rollout(local, config, np.random.default_rng(3))
    feed[local.ADV] = np.full(config.t_max, np.nan, np.float32)  # a NaN gradient for every weight
    feed[glob.LR] = 1e-2
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(NONFINITE_UPDATE)):
        sess.run([local.step_after, local.episodes_after], feed)
    # The worker loop names itself; the refused updates wrote nothing, counters included.
    worker = Worker(local, glob, _NanRewardEnv(config.env_id, 0), config, sess)
    with pytest.raises(TrainingDiverged, match="worker 0: the (loss|gradient norm) is NaN or infinite"):
        worker.run(threading.Event(), _StopAfter(threading.Event(), 10**6))
    after, state_after = glob.snapshot(sess)
    for name, a, b in zip(glob.param_names, before, after):
        np.testing.assert_array_equal(a, b, err_msg=name)
    for name in state_before:
        np.testing.assert_array_equal(state_before[name], state_after[name], err_msg=name)
    worker.env.close()
    sess.close()
    # Through the trainer: the run ends with an error that names the worker, and nothing is saved.
    monkeypatch.setattr("a2c_tf1.a3c.train.WorkerEnv", _NanRewardEnv)
    logger = Logger(config.log_dir, stream=io.StringIO(), tensorboard=False)
    with pytest.raises(WorkerError, match="worker 0 failed: TrainingDiverged: worker 0: the"):
        train_threads(config, logger, stream=io.StringIO())
    logger.close()
    assert not os.path.exists(config.save_path)


def test_the_default_thread_count_follows_the_cpu_affinity(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert default_threads() == 1 and parse("--env", "CartPole-v1").threads == 1
    monkeypatch.delattr(os, "sched_getaffinity")  # where the OS has no affinity: every core
    assert default_threads() == 64


class _Stubborn:
    """A worker that ignores the stop request until the test lets it go."""

    def __init__(self, index: int, release: threading.Event):
        self.index, self.release = index, release

    def run(self, stop, outbox):
        self.release.wait(timeout=120)


def _join_worker_threads(timeout: float = 60.0) -> None:
    for thread in [t for t in threading.enumerate() if t.name.startswith("a3c-worker")]:
        thread.join(timeout=timeout)
    assert not [t for t in threading.enumerate() if t.name.startswith("a3c-worker")]


def test_a_worker_that_does_not_stop_in_time_ends_the_run_with_an_error_naming_it(tmp_path):
    from a2c_tf1.a3c.config import OPERATION_TIMEOUT_S, WORKER_STOP_TIMEOUT_S
    from a2c_tf1.a3c.train import Coordinator

    assert WORKER_STOP_TIMEOUT_S > OPERATION_TIMEOUT_S, "a worker stuck in a cluster call fails before the bound"
    config = cartpole(tmp_path)
    logger = Logger(config.log_dir, stream=io.StringIO(), tensorboard=False)
    release, stop = threading.Event(), threading.Event()
    coordinator = Coordinator(config, logger, 0, None, lambda: 0, stream=io.StringIO(), stop_timeout_s=1.0)
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    try:
        with pytest.raises(WorkerError, match=r"^worker 1 did not stop within 1 s of the stop request$") as info:
            coordinator.run([_Stubborn(1, release)], stop)
        assert info.value.stuck == (1,)
        assert time.monotonic() - started < 10
    finally:
        release.set()
        logger.close()
    _join_worker_threads()


def test_a_second_signal_ends_the_run_at_once_and_leaves_the_last_checkpoint_intact(tmp_path, monkeypatch):
    from a2c_tf1.a3c.signals import StopNow

    release = threading.Event()
    monkeypatch.setattr("a2c_tf1.a3c.train.Worker",
                        lambda local, *rest: Worker(local, *rest) if local.index == 0 else _Stubborn(1, release))
    config = cartpole(tmp_path, num_timesteps=10**7, save_interval=300)

    def signal_twice():  # once a checkpoint is on disk: the first asks to stop, the second not to wait
        deadline = time.monotonic() + 120
        while not os.path.exists(config.save_path + ".state") and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    logger = Logger(config.log_dir, stream=io.StringIO(), tensorboard=False)
    sender = threading.Thread(target=signal_twice)
    sender.start()
    try:
        started = time.monotonic()
        with pytest.raises(StopNow, match="stopped at once by a second SIGTERM"):
            train_threads(config, logger, stream=io.StringIO(), stop_timeout_s=60.0)
        elapsed = time.monotonic() - started
    finally:
        release.set()
        sender.join(timeout=130)
        logger.close()
    _join_worker_threads()
    sess, glob, _ = session_for(config)
    step, _ = checkpoints.restore(sess, glob, config.save_path)  # whole and consistent
    assert step >= 300
    sess.close()
    assert elapsed < 60, "it did not wait for the worker that would not stop"


def test_a_second_signal_during_the_final_save_waits_for_the_save(tmp_path, monkeypatch):
    real_save = checkpoints.save
    calls = []

    def save_and_signal(sess, glob, path, settings=None):
        calls.append(path)
        os.kill(os.getpid(), signal.SIGTERM)  # first call: the stop request; second (the final save): a second signal
        time.sleep(0.3)  # the handler runs in the middle of the save
        return real_save(sess, glob, path, settings)

    monkeypatch.setattr("a2c_tf1.a3c.train.checkpoints.save", save_and_signal)
    config = cartpole(tmp_path, num_timesteps=10**7, save_interval=300)
    logger = Logger(config.log_dir, stream=io.StringIO(), tensorboard=False)
    try:
        outcome = train_threads(config, logger, stream=io.StringIO())
    finally:
        logger.close()
    assert len(calls) == 2 and outcome.reason == "SIGTERM"
    state = checkpoints.checkpoint.load_params(config.save_path + ".state")
    assert int(state["global_step"]) == outcome.global_step, "the final save ran to its end"
    _join_worker_threads()


def test_on_a_cluster_worker_graph_the_global_state_lives_on_the_parameter_servers(tmp_path):
    from a2c_tf1.a3c.cluster import build_worker_graph

    config = A3CConfig(**{**PRESETS["a3c-lstm-cartpole"].overrides,
                          "models_dir": str(tmp_path / "m")}).resolved(image_observations=False)
    spec = {"ps": ["127.0.0.1:1", "127.0.0.1:2"], "worker": ["127.0.0.1:3", "127.0.0.1:4"]}
    graph, glob, local, _ = build_worker_graph(config, spec, 1, *probe_spaces(config))  # ops only, no server
    variables = {v.op.name: v for v in graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)}
    local_names = {v.op.name for v in local.variables}
    assert local_names and all(n.startswith("worker_1/") for n in local_names), "worker 1's network only"
    for name, v in variables.items():
        if name in local_names:
            assert v.device == "/job:worker/task:1/device:CPU:0", (name, v.device)
        else:
            assert name.startswith("global/") and v.device.startswith("/job:ps/task:"), (name, v.device)
            # A colocated variable (Adam's beta powers) runs where its group's variable lives.
            for group in v.op.colocation_groups():
                assert variables[group.decode()[len("loc:@"):]].device == v.device, (name, group)
    assert set(variables) - local_names == {v.op.name for v in glob.variables}, "nothing global is left out"
    expected = {"global/beta1_power", "global/beta2_power", "global/global_step", "global/episodes", "global/ready",
                "global/model/fc1/w/Adam", "global/model/fc1/w/Adam_1", "global/model/lstm1/wh/Adam"}
    assert expected <= set(variables)
    assert {variables[n].device for n in variables if n not in local_names} == {"/job:ps/task:0", "/job:ps/task:1"}
    # The gradients and the finiteness checks run on the worker; only the updates run on the parameter servers.
    checks = [op for op in graph.get_operations() if op.type == "CheckNumerics"]
    assert checks and all(op.device == "/job:worker/task:1/device:CPU:0" for op in checks)
    applies = [op for op in graph.get_operations() if op.type == "ResourceApplyAdam"]
    assert len(applies) == len(glob.params) and all(op.device.startswith("/job:ps/") for op in applies)


def test_the_lstm_state_is_carried_across_rollouts_and_reset_after_an_episode_ends(tmp_path):
    config = A3CConfig(**{**PRESETS["a3c-lstm-cartpole"].overrides, "threads": 1, "t_max": 5,
                          "models_dir": str(tmp_path / "m")}).resolved(image_observations=False)
    sess, glob, (local,) = session_for(config)
    sess.run(local.sync)
    worker = Worker(local, glob, WorkerEnv(config.env_id, 0), config, sess)
    acts, trains = [], []  # acts: (rollout, state in, state out, mask); trains: the state each rollout starts from
    real_act, real_train = worker._act, worker._train

    def act(stack, state, mask):
        action, value, new_state = real_act(stack, state, mask)
        acts.append((len(trains), np.array(state), np.array(new_state), mask))
        return action, value, new_state

    def train(*feed):
        trains.append(np.array(feed[8]))
        return real_train(*feed)

    worker._act, worker._train = act, train
    stop = threading.Event()
    outbox = _StopAfter(stop, 40)
    worker.run(stop, outbox)
    ended = [any(ep["kind"] == "game" for ep in update.episodes) for update in outbox.items]
    assert any(ended) and not all(ended), "some rollouts end an episode and some do not"
    initial = np.asarray(worker.initial_state)
    for r in range(len(trains)):
        steps = [a for a in acts if a[0] == r]
        np.testing.assert_array_equal(trains[r], steps[0][1], err_msg="the train model starts where the rollout did")
        for before, after in zip(steps, steps[1:]):
            np.testing.assert_array_equal(before[2], after[1])
        if r == 0:
            continue
        previous = [a for a in acts if a[0] == r - 1]
        if ended[r - 1]:
            np.testing.assert_array_equal(steps[0][1], initial)
            assert steps[0][3] == 1.0, "a new episode's first step is masked"
        else:
            np.testing.assert_array_equal(steps[0][1], previous[-1][2], err_msg=f"rollout {r} goes on from {r - 1}")
            assert steps[0][3] == 0.0 and np.abs(steps[0][1]).sum() > 0
    worker.env.close()
    sess.close()
