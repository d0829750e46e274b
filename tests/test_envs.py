"""The fast ALE vector env against a plain gymnasium wrapper stack, and the episode bookkeeping."""
import numpy as np
import pytest

from a2c_tf1.envs import UnknownEnvError, make_vec_env
from a2c_tf1.envs.atari import make_reference_env
from a2c_tf1.envs.monitor import EpisodeTracker

ENV_ID = "BreakoutNoFrameskip-v4"


def test_fast_path_equals_gymnasium_wrappers_over_a_whole_game():
    """Same seed-free start (noop_max=0, no sticky actions) and the same actions give the same frames,
    clipped rewards and dones, life loss after life loss, until game over."""
    fast = make_vec_env(ENV_ID, num_envs=2, seed=0, noop_max=0)
    # ale-py's reset presses FIRE for a single frame (fire_reset="ale"), not baselines' FIRE and RIGHT steps.
    reference = make_reference_env(ENV_ID, seed=0, noop_max=0, fire_reset="ale")
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


def test_game_over_resets_on_the_next_step_and_scores_are_raw():
    env = make_vec_env(ENV_ID, num_envs=1, seed=0, noop_max=0)
    env.reset()
    rng = np.random.default_rng(2)
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
