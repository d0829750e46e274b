"""The fast ALE vector env against a plain gymnasium wrapper stack, and the episode bookkeeping."""
import cv2
import gymnasium as gym
import numpy as np
import pytest

from a2c_tf1.envs import UnknownEnvError, make_vec_env
from a2c_tf1.envs.atari import _baselines_wrappers, make_reference_env
from a2c_tf1.envs.monitor import EpisodeTracker

ENV_ID = "BreakoutNoFrameskip-v4"


def test_fast_path_equals_gymnasium_wrappers_over_a_whole_game():
    """Same seed-free start (noop_max=0, no sticky actions) and the same actions give the same frames,
    clipped rewards and dones, life loss after life loss, until game over."""
    fast = make_vec_env(ENV_ID, num_envs=2, seed=0, noop_max=0)
    # Both add FIRE to the first action of every life (fire_reset="serve").
    reference = make_reference_env(ENV_ID, seed=0, noop_max=0, fire_reset="serve")
    fast.reset()
    actions = np.random.default_rng(1).integers(0, 4, size=3000)
    life_losses = 0
    for t, action in enumerate(actions):
        obs, rewards, dones, finished = fast.step(np.array([action, action]))
        ref_obs, ref_reward, terminated, truncated, _ = reference.step(int(action))
        np.testing.assert_array_equal(obs[0], ref_obs, err_msg=f"frames differ at step {t}")
        np.testing.assert_array_equal(obs[0], obs[1])
        assert rewards[0] == ref_reward, f"step {t}"
        assert bool(dones[0]) == bool(terminated or truncated), f"step {t}"
        if dones[0]:
            life_losses += 1
            if reference.unwrapped.ale.game_over():
                break
            # baselines' EpisodicLife would hide a no-op here on reset(); stepping on keeps ale-py's semantics.
    else:
        pytest.fail("no game over within 3000 steps")
    assert life_losses == 5  # Breakout: five lives, each loss a training episode end
    games = [ep for ep in finished if ep["kind"] == "game"]
    assert len(games) == 2 and games[0]["l"] == t + 1



class _BaselinesWarpFrame(gym.Wrapper):
    """baselines' MaxAndSkipEnv(4) and WarpFrame on an RGB env: the max of the last two colour frames of each
    4-frame step, cv2's RGB2GRAY, then an 84x84 INTER_AREA resize. ``[84, 84, 1]`` uint8."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = gym.spaces.Box(0, 255, (84, 84, 1), np.uint8)

    @staticmethod
    def _warp(rgb: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        return cv2.resize(gray, (84, 84), interpolation=cv2.INTER_AREA)[:, :, None]

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self._warp(obs), info

    def step(self, action):
        last_two, total = [], 0.0
        for i in range(4):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total += reward
            if i >= 2:
                last_two.append(obs)
            if terminated or truncated:
                break
        frame = np.max(np.stack(last_two), axis=0) if last_two else obs
        return self._warp(frame), total, terminated, truncated, info


@pytest.mark.parametrize("action_seed", [1, 2])
def test_fast_path_frames_match_baselines_colour_warpframe_on_spaceinvaders(action_seed):
    """SpaceInvaders' shots are one or two pixels wide. The fast path takes ALE's grayscale and max-pools gray
    frames; baselines max-pooled the colour frames and grayscaled with cv2. On a whole random game, those
    two orders differ only where two different colours overlap in the pooled frames. At most 1 pixel in
    10,000 differs by more than 8 grey levels; measured, 9 to 21 in a million (3 games). Rewards and dones are the same."""
    import ale_py

    gym.register_envs(ale_py)
    env_id = "SpaceInvadersNoFrameskip-v4"
    fast = make_vec_env(env_id, num_envs=1, seed=0, noop_max=0)
    raw = gym.make(env_id, frameskip=1, repeat_action_probability=0.0, full_action_space=True)
    baselines = _baselines_wrappers(_BaselinesWarpFrame(raw), 0, episodic_life=True, fire_reset="serve",
                                    clip_rewards=True)
    fast.reset()
    actions = np.random.default_rng(action_seed).integers(0, fast.action_space.n, size=3000)
    far, pixels = 0, 0
    for t, action in enumerate(actions):
        obs, rewards, dones, _ = fast.step(np.array([action]))
        ref_obs, ref_reward, terminated, truncated, _ = baselines.step(int(action))
        far += int((np.abs(obs[0].astype(int) - ref_obs.astype(int)) > 8).sum())
        pixels += ref_obs.size
        assert rewards[0] == ref_reward and bool(dones[0]) == bool(terminated or truncated), f"step {t}"
        if dones[0] and baselines.unwrapped.ale.game_over():
            break
    else:
        pytest.fail("no game over within 3000 steps")
    fast.close()
    assert t > 200 and far / pixels < 1e-4, (t, far / pixels)


@pytest.mark.parametrize("env_id, frame, stack, score_unit, fire_reset", [
    ("KungFuMasterNoFrameskip-v4", "kungfu42", "ale", 100, False),  # the 42x42 crop runs on gymnasium wrappers
    ("SpaceInvadersNoFrameskip-v4", "nature", "gymnasium", 5, True),
])
def test_gymnasium_batches_record_raw_whole_games_and_train_on_clipped_rewards(env_id, frame, stack, score_unit,
                                                                               fire_reset):
    """Through gymnasium wrappers a life loss ends the training episode; monitor.csv must still get whole
    games (every life) with raw scores, summed below the life-loss wrapper as baselines' Monitor did, so
    the hidden steps (EpisodicLife's no-op, FireReset's FIRE and RIGHT) count too."""
    lives_per_game = make_reference_env(env_id, seed=0).unwrapped.ale.lives()
    env = make_vec_env(env_id, 2, seed=0, frame=frame, stack=stack)
    env.reset()
    actions = np.random.default_rng(0).integers(0, env.action_space.n, size=(6000, 2))
    lives, agent_steps = {0: [], 1: []}, np.zeros(2, int)
    games, clipped = [], set()
    for step in actions:
        _, rewards, _, finished = env.step(step)
        agent_steps += 1
        clipped |= set(rewards.tolist())
        for item in finished:
            if item["kind"] == "life":
                lives[item["env"]].append(item["r"])
            else:
                games.append((item, lives[item["env"]], agent_steps[item["env"]]))
                lives[item["env"]], agent_steps[item["env"]] = [], 0
        if len(games) >= 3:
            break
    env.close()
    assert len(games) >= 3, "random play ends a game within 6000 steps"
    assert clipped <= {-1.0, 0.0, 1.0} and 1.0 in clipped
    # Hidden steps per game: EpisodicLife's no-op after each life loss; FIRE, RIGHT after every reset.
    hidden = (lives_per_game - 1) + (2 * lives_per_game if fire_reset else 0)
    for game, its_lives, steps in games:
        assert len(its_lives) == lives_per_game
        assert game["r"] == sum(its_lives) and game["r"] % score_unit == 0
        assert game["l"] == steps + hidden
    assert max(game["r"] for game, _, _ in games) > 1.0, "raw scores, not clipped ones"


def test_gymnasium_stack_seeds_each_env_with_its_rank():
    """baselines seeded env i with seed + i, so the envs start after different numbers of no-ops and, after
    the same actions, show different moments of the game; the same seed gives the same frames again."""
    def frames_after_noops(seed):
        env = make_vec_env("SpaceInvadersNoFrameskip-v4", 4, seed=seed, stack="gymnasium")
        env.reset()
        for _ in range(60):
            obs, _, _, _ = env.step(np.zeros(4, int))
        env.close()
        return obs

    first = frames_after_noops(0)
    np.testing.assert_array_equal(first, frames_after_noops(0))
    assert len({frame.tobytes() for frame in first}) > 1

def _play_fast_with_serve_script(env_id: str, actions: np.ndarray) -> list[float]:
    """One game on the fast path; each life opens with NOOP (served: FIRE) then RIGHT, as FireReset's FIRE and
    RIGHT, then plays ``actions`` on. Returns the raw score of each life, then the game's score."""
    env = make_vec_env(env_id, num_envs=1, seed=0, noop_max=0)
    env.reset()
    j, step_of_life, scores = 0, 0, []
    for _ in range(20_000):
        if step_of_life < 2:
            action = (0, 2)[step_of_life]
        else:
            action, j = actions[j], j + 1
        _, _, _, finished = env.step(np.array([action]))
        step_of_life += 1
        for ep in finished:
            scores.append(ep["r"])
            if ep["kind"] == "life":
                step_of_life = 0
            else:
                env.close()
                return scores
    pytest.fail("the game did not end: the ball was not served")


def _play_reference(env, actions: np.ndarray) -> list[float]:
    """One game on a reference stack as make_reference_env returns it: already reset (a second reset here
    would be EpisodicLife's hidden no-op and another FIRE, RIGHT: three steps the fast path never takes).
    Returns the raw score of each life, then the game's score."""
    life, scores = 0.0, []
    for action in actions:
        _, reward, terminated, truncated, _ = env.step(int(action))
        life += reward
        if terminated or truncated:
            scores.append(life)
            life = 0.0
            if env.unwrapped.ale.game_over() or truncated:
                return scores + [sum(scores)]
            env.reset()  # baselines: EpisodicLife's hidden no-op, then FireReset's FIRE and RIGHT
    pytest.fail("the reference game did not end")


# (game, its actions used here, the lives compared): Breakout and Pong wait for the serve after a point or a
# life, so whole games agree; SpaceInvaders goes on during baselines' hidden no-op after a life loss, so its
# games part there and the first life is compared.
SERVED_GAMES = [("BreakoutNoFrameskip-v4", (0, 2, 3), None), ("PongNoFrameskip-v4", (0, 2, 3), None),
                ("SpaceInvadersNoFrameskip-v4", (0, 1, 2, 3, 4, 5), 1)]
# Actions in runs of one to eight steps: a paddle that holds a direction reaches the ball now and then.
RUN_LENGTHS = np.arange(1, 9)


@pytest.mark.parametrize("seed", [0, 1, 2, 4])
@pytest.mark.parametrize("env_id, choices, lives_compared", SERVED_GAMES)
def test_serving_matches_baselines_fire_reset_on_fixed_actions(env_id, choices, lives_compared, seed):
    """A scripted serve then fixed actions give baselines' per-life and game scores and life counts.

    Not frame-identical: baselines serves with hidden steps (a no-op after each life loss, then FIRE and
    RIGHT) that the agent never sees, while the fast path adds FIRE to the agent's first step of a life
    (here NOOP -> FIRE, then RIGHT, to line the two up), so after a life loss the fast path is one no-op
    step (4 frames) ahead and the step counts differ. Breakout's and Pong's scores and life counts agree on
    these sequences; SpaceInvaders' first life does.
    """
    rng = np.random.default_rng(seed)
    actions = np.repeat(rng.choice(choices, size=20_000), rng.choice(RUN_LENGTHS, size=20_000))[:20_000] \
        if seed else np.zeros(20_000, int)
    reference = make_reference_env(env_id, seed=0, noop_max=0, fire_reset="baselines", clip_rewards=False)
    fast, baselines = _play_fast_with_serve_script(env_id, actions), _play_reference(reference, actions)
    reference.close()
    assert len(fast) == len(baselines)  # the same number of lives
    if lives_compared is None:
        assert fast == baselines
    else:
        assert fast[:lives_compared] == baselines[:lives_compared]
    if seed and env_id != "PongNoFrameskip-v4":  # (Pong: the opponent's 21 points end every game)
        assert sum(baselines[:-1]) > 0, "no point scored: the comparison would prove little"


def test_never_firing_policy_plays_whole_games_only_when_served():
    from a2c_tf1.envs.atari import AtariVecEnv

    rng = np.random.default_rng(0)
    games = {}
    for serve in (True, False):
        env = AtariVecEnv(ENV_ID, "breakout", 2, seed=0, serve=serve)
        env.reset()
        games[serve] = 0
        for _ in range(1500):
            _, _, _, finished = env.step(rng.choice([0, 2, 3], size=2))
            games[serve] += sum(ep["kind"] == "game" for ep in finished)
        env.close()
    assert games[True] >= 10  # a random non-firing game lasts ~175 steps
    assert games[False] == 0  # unserved, the ball never comes into play


def test_game_over_resets_on_the_next_step_and_scores_are_raw():
    env = make_vec_env(ENV_ID, num_envs=1, seed=0, noop_max=0)
    env.reset()
    rng = np.random.default_rng(3)
    clipped_total, lives_seen = 0.0, []
    for _ in range(5000):
        obs, rewards, dones, finished = env.step(rng.integers(0, 4, size=1))
        assert rewards[0] in (-1.0, 0.0, 1.0)
        clipped_total += rewards[0]
        lives_seen += [ep for ep in finished if ep["kind"] == "life"]
        games = [ep for ep in finished if ep["kind"] == "game"]
        if games:
            break
    assert len(lives_seen) == 5
    assert games[0]["r"] == pytest.approx(sum(ep["r"] for ep in lives_seen))
    assert games[0]["r"] >= clipped_total > 0  # raw brick values (1, 4, 7) against their clipped count
    # ale-py's next-step autoreset: the step after game over returns the first frame of a new game.
    obs, rewards, dones, finished = env.step(np.array([0]))
    assert rewards[0] == 0 and not dones[0] and finished == []
    env.close()


def test_unknown_env_is_a_clear_error():
    with pytest.raises(UnknownEnvError, match="NoSuchGame-v0"):
        make_vec_env("NoSuchGame-v0", 1, 0)


def test_tracker_sums_raw_rewards_per_life_and_game():
    tracker = EpisodeTracker(2)
    yes, no = np.array([True, False]), np.array([False, False])
    assert tracker.update(np.array([4.0, 1.0]), np.ones(2, bool), no, no) == []
    lives = tracker.update(np.array([3.0, 0.0]), np.ones(2, bool), yes, no)
    assert lives == [{"kind": "life", "r": 7.0, "env": 0}]
    end = tracker.update(np.array([5.0, 0.0]), np.array([True, False]), yes, yes)
    assert end == [{"kind": "life", "r": 5.0, "env": 0}, {"kind": "game", "r": 12.0, "l": 3, "env": 0}]
    # env 1 played on: its running sums were kept, its uncounted step not added to the length
    assert tracker.game_return[1] == 1.0 and tracker.game_length[1] == 2
