"""Runner (a2c_tf1/runner.py) against a fake vector env whose frames say which env and step they come from."""
import numpy as np
import pytest
from gymnasium import spaces

from a2c_tf1.runner import Rollout, Runner

NENV, NSTEPS, NSTACK, GAMMA = 2, 3, 4, 0.5


def make_frame(env, count):
    """A 2x2x1 uint8 frame: [[env+1, count], [10*(env+1) + count, 7]], never all-zero."""
    return np.array([[env + 1, count], [10 * (env + 1) + count, 7]], np.uint8)[..., None]


class FakeVecEnv:
    """``count`` is the number of frames an env has emitted (reset frame = 1); ``done_at`` holds
    (env, step call number starting at 1) pairs whose step ends the episode; the returned frame is then the
    first frame of the next episode, as a vectorised env with auto-reset returns."""

    def __init__(self, num_envs=NENV, done_at=()):
        self.num_envs = num_envs
        self.observation_space = spaces.Box(0, 255, (2, 2, 1), np.uint8)
        self.action_space = spaces.Discrete(2)
        self.done_at = set(done_at)
        self.calls = 0
        self.received_actions = []
        self.rewards, self.dones = [], []  # per step call, [nenv]

    def reset(self):
        self.counts = [1] * self.num_envs
        return np.stack([make_frame(e, 1) for e in range(self.num_envs)])

    def step(self, actions):
        self.calls += 1
        self.received_actions.append(np.array(actions))
        frames, finished = [], []
        rewards = np.zeros(self.num_envs, np.float32)
        dones = np.zeros(self.num_envs, bool)
        for e in range(self.num_envs):
            rewards[e] = (e + 1) * self.calls + 0.25 * actions[e]
            dones[e] = (e, self.calls) in self.done_at
            if dones[e]:
                finished.append({"kind": "game", "env": e, "call": self.calls})
            self.counts[e] += 1
            frames.append(make_frame(e, self.counts[e]))
        self.rewards.append(rewards)
        self.dones.append(dones)
        return np.stack(frames), rewards, dones, finished


def fake_value(obs):
    """Deterministic value of a stack: its newest frame's code plus the count of non-zero frames / 8."""
    newest = obs[:, 1, 0, -1].astype(np.float32)
    filled = (obs[:, 1, 1, :] != 0).sum(axis=1).astype(np.float32)
    return (newest + filled / 8.0).astype(np.float32)


class FakeAgent:
    def __init__(self):
        self.step_obs = []

    def step(self, obs):
        self.step_obs.append(obs.copy())
        actions = (obs[:, 0, 1, -1] % 2).astype(np.int32)  # parity of the newest frame's count
        return actions, fake_value(obs)

    def value(self, obs):
        self.value_obs = obs.copy()
        return fake_value(obs) + np.float32(100.0)


def expected_stacks(nenv, nsteps_total, done_at):
    """Independent frame bookkeeping: per env, the frames of the current episode, padded with zeros.

    Returns the stack every step sees ``[calls+1][nenv]`` (index k: before step call k+1)."""
    stacks = []
    episode = [[make_frame(e, 1)] for e in range(nenv)]
    for call in range(nsteps_total + 1):
        row = []
        for e in range(nenv):
            frames = episode[e][-NSTACK:]
            pad = [np.zeros((2, 2, 1), np.uint8)] * (NSTACK - len(frames))
            row.append(np.concatenate(pad + frames, axis=-1))
        stacks.append(np.stack(row))
        for e in range(nenv):
            new = make_frame(e, call + 2)
            episode[e] = [new] if (e, call + 1) in done_at else episode[e] + [new]
    return stacks


def hand_returns(rewards, dones, last_value, gamma):
    out, running = [], last_value if not dones[-1] else 0.0
    for r, d in zip(rewards[::-1], dones[::-1]):
        running = r + gamma * running * (1.0 - d)
        out.append(running)
    return out[::-1]


def check_rollout(rollout, env, agent, stacks, first_call):
    """Rollout of step calls first_call+1 .. first_call+NSTEPS, env-major."""
    assert isinstance(rollout, Rollout)
    assert rollout.obs.shape == (NENV * NSTEPS, 2, 2, NSTACK) and rollout.obs.dtype == np.uint8
    assert rollout.returns.shape == rollout.actions.shape == rollout.values.shape == (NENV * NSTEPS,)
    calls = range(first_call, first_call + NSTEPS)
    for e in range(NENV):
        for t, call in enumerate(calls):
            row = e * NSTEPS + t
            np.testing.assert_array_equal(rollout.obs[row], stacks[call][e], err_msg=f"env {e} step {t}")
            assert rollout.actions[row] == env.received_actions[call][e]
            assert rollout.actions[row] == stacks[call][e][0, 1, -1] % 2
            assert rollout.values[row] == fake_value(stacks[call][e][None])[0]
    # bootstrap values come from the stack after the last step
    np.testing.assert_array_equal(agent.value_obs, stacks[first_call + NSTEPS])
    last_values = fake_value(stacks[first_call + NSTEPS]) + 100.0
    expected = np.concatenate([
        hand_returns([float(env.rewards[c][e]) for c in calls], [float(env.dones[c][e]) for c in calls],
                     float(last_values[e]), GAMMA)
        for e in range(NENV)])
    np.testing.assert_allclose(rollout.returns, expected, rtol=1e-6)


def test_frames_are_stacked_newest_last_and_env_major():
    env, agent = FakeVecEnv(), FakeAgent()
    runner = Runner(env, agent, nsteps=NSTEPS, nstack=NSTACK, gamma=GAMMA)
    rollout = runner.run()
    stacks = expected_stacks(NENV, NSTEPS, set())
    # explicit picture of env 1 at step 2: zeros, then frames 1, 2, 3 (newest last)
    np.testing.assert_array_equal(rollout.obs[1 * NSTEPS + 2][0, 1], [0, 1, 2, 3])
    np.testing.assert_array_equal(rollout.obs[1 * NSTEPS + 2][0, 0], [0, 2, 2, 2])
    np.testing.assert_array_equal(runner.obs[0][0, 1], [1, 2, 3, 4])  # after 3 steps: the stack is full
    check_rollout(rollout, env, agent, stacks, 0)
    assert rollout.episodes == []


def test_done_zeroes_only_that_env_stack():
    done_at = {(1, 2)}  # env 1's episode ends on the 2nd step
    env, agent = FakeVecEnv(done_at=done_at), FakeAgent()
    runner = Runner(env, agent, nsteps=NSTEPS, nstack=NSTACK, gamma=GAMMA)
    rollout = runner.run()
    stacks = expected_stacks(NENV, NSTEPS, done_at)
    # env 1 at step 2 sees only the new episode's first frame (count 3); env 0 keeps its history
    np.testing.assert_array_equal(rollout.obs[1 * NSTEPS + 2][0, 1], [0, 0, 0, 3])
    np.testing.assert_array_equal(rollout.obs[0 * NSTEPS + 2][0, 1], [0, 1, 2, 3])
    np.testing.assert_array_equal(runner.obs[1][0, 1], [0, 0, 3, 4])
    check_rollout(rollout, env, agent, stacks, 0)
    assert rollout.episodes == [{"kind": "game", "env": 1, "call": 2}]
    # env 1's step-1 return is cut at the done: its own reward only
    assert rollout.returns[1 * NSTEPS + 1] == pytest.approx(env.rewards[1][1])


def test_consecutive_rollouts_and_no_bootstrap_after_a_final_done():
    done_at = {(0, 1), (1, 2), (0, 6), (1, 6)}  # both envs end on the last step of the 2nd rollout
    env, agent = FakeVecEnv(done_at=done_at), FakeAgent()
    runner = Runner(env, agent, nsteps=NSTEPS, nstack=NSTACK, gamma=GAMMA)
    stacks = expected_stacks(NENV, 2 * NSTEPS, done_at)
    first = runner.run()
    check_rollout(first, env, agent, stacks, 0)
    second = runner.run()
    check_rollout(second, env, agent, stacks, NSTEPS)
    # the 2nd rollout starts from the 1st one's last stack
    np.testing.assert_array_equal(second.obs[0], stacks[NSTEPS][0])
    # env 0 ended on step 1, so its stack holds frames 2, 3, 4 after a zero
    np.testing.assert_array_equal(second.obs[0][0, 1], [0, 2, 3, 4])
    # last step done for both envs: R_T-1 is the last reward, the bootstrap value (>100) is not used
    for e in range(NENV):
        assert second.returns[e * NSTEPS + NSTEPS - 1] == pytest.approx(env.rewards[5][e])
    assert [ep["call"] for ep in second.episodes] == [6, 6]
    assert runner.dones.tolist() == [True, True]


def test_bootstrap_uses_agent_value_when_not_done():
    env, agent = FakeVecEnv(), FakeAgent()
    rollout = Runner(env, agent, nsteps=NSTEPS, nstack=NSTACK, gamma=GAMMA).run()
    # env 0: rewards at calls 1, 2, 3 are 1, 2, 3 plus 0.25 * action (action = parity of the newest count:
    # counts 1, 2, 3 -> actions 1, 0, 1); last stack [1, 2, 3, 4] -> V = code 10+4 + 4/8 + 100 = 114.5
    r = [1.25, 2.0, 3.25]
    v = 114.5
    # R2 = 3.25 + 0.5*114.5 = 60.5; R1 = 2 + 0.5*60.5 = 32.25; R0 = 1.25 + 0.5*32.25 = 17.375
    assert r[2] + GAMMA * v == pytest.approx(60.5)
    np.testing.assert_allclose(rollout.returns[:NSTEPS], [17.375, 32.25, 60.5], rtol=1e-6)
    np.testing.assert_array_equal(rollout.actions[:NSTEPS], [1, 0, 1])


def test_multichannel_frames_roll_by_channel_count():
    # frames with 2 channels: stack has 2*nstack channels, newest frame's 2 channels last
    class TwoChannelEnv(FakeVecEnv):
        def __init__(self):
            super().__init__(num_envs=1)
            self.observation_space = spaces.Box(0, 255, (2, 2, 2), np.uint8)

        def reset(self):
            frame = super().reset()
            return np.concatenate([frame, frame + 100], axis=-1)

        def step(self, actions):
            obs, r, d, f = super().step(actions)
            return np.concatenate([obs, obs + 100], axis=-1), r, d, f

    class OneEnvAgent(FakeAgent):
        def step(self, obs):
            return np.zeros(1, np.int32), np.zeros(1, np.float32)

        def value(self, obs):
            return np.zeros(1, np.float32)

    env = TwoChannelEnv()
    rollout = Runner(env, OneEnvAgent(), nsteps=2, nstack=3, gamma=GAMMA).run()
    assert rollout.obs.shape == (2, 2, 2, 6)
    np.testing.assert_array_equal(rollout.obs[0][0, 1], [0, 0, 0, 0, 1, 101])
    np.testing.assert_array_equal(rollout.obs[1][0, 1], [0, 0, 1, 101, 2, 102])
