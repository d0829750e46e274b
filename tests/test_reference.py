"""Baselines' published A2C curves shipped in a2c_tf1/data, and the score at a step.

Expected numbers are read directly off a2c_tf1/data/baselines_a2c_atari10M.csv (row numbers of that file).
"""
import os

import pytest

from a2c_tf1 import reference


def test_the_data_ships_inside_the_package():
    import importlib.resources

    data = importlib.resources.files("a2c_tf1") / "data" / reference.DATA_FILE
    assert data.is_file()
    assert os.path.dirname(os.path.dirname(str(data))) == os.path.dirname(reference.__file__)
    assert reference.games() == ["BeamRider", "Breakout", "Enduro", "Pong", "Qbert", "Seaquest", "SpaceInvaders"]
    for game in reference.games():
        steps, scores = reference.published_curve(game)
        assert steps.shape == scores.shape == (100,) and steps[0] == 0 and (steps[1:] > steps[:-1]).all()


def test_published_score_at_points_of_the_file():
    assert reference.published_score("Breakout", 0) == 1.41  # row 107: Breakout,0,1.41
    assert reference.published_score("Pong", 5_050_483) == 17.17  # row 357: Pong,5050483,17.17
    assert reference.published_score("Breakout", 9_999_840) == 292.4  # row 206, the last point
    assert reference.published_score("Breakout", 10_000_000) == 292.4  # past the last point: its value


def test_published_score_interpolates_linearly_between_points():
    # rows 126-127: Breakout,1919161,18.82 and Breakout,2020170,22.09
    # 18.82 + (2,000,000 - 1,919,161) / (2,020,170 - 1,919,161) * (22.09 - 18.82) = 18.82 + 0.80031 * 3.27 = 21.43703
    assert reference.published_score("Breakout", 2_000_000) == pytest.approx(21.43703, abs=1e-5)
    # rows 356-357: Pong,4949474,17.18 and Pong,5050483,17.17; 5,000,000 is 0.50022 of the way: 17.17500
    assert reference.published_score("pong", 5_000_000) == pytest.approx(17.174998, abs=1e-5)


def test_unknown_game_and_steps_outside_the_published_range():
    with pytest.raises(reference.UnknownGame, match="CartPole; games with one: BeamRider, Breakout"):
        reference.published_score("CartPole", 1000)
    with pytest.raises(ValueError, match="outside the published range"):
        reference.published_score("Breakout", 10_000_001)
    with pytest.raises(ValueError, match="outside the published range"):
        reference.published_score("Breakout", -1)


@pytest.mark.parametrize("env_id, game", [("BreakoutNoFrameskip-v4", "Breakout"), ("ALE/Breakout-v5", "Breakout"),
                                          ("SpaceInvadersNoFrameskip-v4", "SpaceInvaders"),
                                          ("PongDeterministic-v4", "Pong"), ("CartPole-v1", "CartPole")])
def test_game_of_env_id(env_id, game):
    assert reference.game_of(env_id) == game
