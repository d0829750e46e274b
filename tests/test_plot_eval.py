"""The dashboard command on a fixture run, and evaluation of a freshly saved agent on real Breakout."""
import csv
import hashlib
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from gymnasium import spaces

from a2c_tf1.agent import Agent
from a2c_tf1.plot import PANELS, draw_dashboard, running_mean
from a2c_tf1.policies import CnnPolicy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fixture_run(folder, offset=0.0, env_id="X"):
    os.makedirs(folder)
    keys = ["nupdates", "total_timesteps"] + [key for key, _, _ in PANELS] + ["eprewmean"]
    with open(os.path.join(folder, "progress.csv"), "w") as f:
        f.write(",".join(keys) + "\n")
        for i in range(1, 21):
            f.write(",".join(str(i * 8000 if k == "total_timesteps" else i + offset) for k in keys) + "\n")
    with open(os.path.join(folder, "monitor.csv"), "w") as f:
        f.write('#{"t_start": 0, "env_id": "%s"}\nr,l,t,total_timesteps\n' % env_id)
        for i in range(50):
            f.write(f"{i % 7},{100 + i},{i},{i * 3000}\n")


def test_plot_command_writes_a_dashboard_with_one_panel_per_diagnostic(tmp_path):
    _fixture_run(tmp_path / "run_a")
    _fixture_run(tmp_path / "run_b", offset=2.0)
    out = tmp_path / "dash.png"
    proc = subprocess.run([sys.executable, "-m", "a2c_tf1.plot", str(tmp_path / "run_a"), str(tmp_path / "run_b"),
                           "-o", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"({1 + len(PANELS)} panels)" in proc.stdout
    import matplotlib.image

    image = matplotlib.image.imread(out)
    assert image.shape[0] > 1000 and image.shape[1] > 1000
    assert draw_dashboard([str(tmp_path / "run_a")], str(tmp_path / "one.png")) == 1 + len(PANELS)


def test_plot_command_rejects_a_folder_without_progress(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "a2c_tf1.plot", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "no progress.csv" in proc.stderr


def _plot(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "a2c_tf1.plot", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_reference_overlays_the_published_curve_of_the_runs_game(tmp_path):
    _fixture_run(tmp_path / "run", env_id="BreakoutNoFrameskip-v4")
    with_reference, without = tmp_path / "with.png", tmp_path / "without.png"
    proc = _plot(tmp_path / "run", "--reference", "-o", with_reference)
    assert proc.returncode == 0, proc.stderr
    draw_dashboard([str(tmp_path / "run")], str(without))
    import matplotlib.image

    drawn, plain = matplotlib.image.imread(with_reference), matplotlib.image.imread(without)
    assert drawn.shape == plain.shape
    assert (drawn != plain).any(axis=-1)[: drawn.shape[0] // 4].sum() > 500, "no curve on the score panel"


def test_reference_game_flag_serves_a_run_without_env_id(tmp_path):
    _fixture_run(tmp_path / "run", env_id="")
    os.unlink(tmp_path / "run" / "monitor.csv")
    missing = _plot(tmp_path / "run", "--reference", "-o", tmp_path / "x.png")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.count("\n") == 1 and "--reference-game Breakout" in missing.stderr
    assert not (tmp_path / "x.png").exists()
    named = _plot(tmp_path / "run", "--reference-game", "breakout", "-o", tmp_path / "x.png")
    assert named.returncode == 0, named.stderr
    assert (tmp_path / "x.png").exists()


def test_reference_for_a_game_without_a_published_curve_is_one_line(tmp_path):
    _fixture_run(tmp_path / "run", env_id="CartPole-v1")
    proc = _plot(tmp_path / "run", "--reference", "-o", tmp_path / "x.png")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "no published baselines A2C curve for CartPole; games with one: BeamRider, Breakout" in proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_running_mean_matches_a_direct_window():
    values = np.arange(250, dtype=float) % 13
    expected = [values[max(0, i - 99):i + 1].mean() for i in range(250)]
    np.testing.assert_allclose(running_mean(values), expected)


@pytest.mark.parametrize("video", ["game.gif", "game.mp4"])
def test_evaluate_writes_a_video_and_leaves_the_checkpoint_untouched(tmp_path, video):
    models = tmp_path / "models"
    agent = Agent(CnnPolicy, spaces.Box(0, 255, (84, 84, 1), np.uint8), spaces.Discrete(4), 1, 1, 4, seed=3)
    save_path = models / "BreakoutNoFrameskip-v4.save"
    os.makedirs(models)
    agent.save(str(save_path))
    before = hashlib.sha256(save_path.read_bytes()).hexdigest()
    proc = subprocess.run([sys.executable, "run_breakout.py", "--evaluate", "--models-dir", str(models),
                           "--episodes", "2", "--max-steps", "40", "--video", str(tmp_path / video),
                           "--scores", str(tmp_path / "games.csv")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "2 games" in proc.stdout and "score" in proc.stdout
    # Each game's row: 40 steps (the cap; a random agent keeps a life that long), and the printed mean is theirs.
    with open(tmp_path / "games.csv", newline="") as f:
        games = list(csv.DictReader(f))
    assert [(g["game"], g["length"]) for g in games] == [("0", "40"), ("1", "40")]
    mean = np.mean([float(g["score"]) for g in games])
    assert f"score {mean:.1f} ± " in proc.stdout
    import imageio.v2 as imageio

    frames = [frame for frame in imageio.get_reader(str(tmp_path / video))]  # list() trips on len() == inf
    # mp4 keeps every agent step; GIF encoders merge identical consecutive frames into one longer frame.
    assert (len(frames) == 40 if video.endswith(".mp4") else 0 < len(frames) <= 40)
    assert frames[0].shape[:2] == (210, 160)
    assert hashlib.sha256(save_path.read_bytes()).hexdigest() == before
    assert sorted(os.listdir(models)) == ["BreakoutNoFrameskip-v4.save"]


def test_evaluate_without_a_checkpoint_is_one_clear_line(tmp_path):
    proc = subprocess.run([sys.executable, "run_breakout.py", "--evaluate", "--models-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "no checkpoint at" in errors[0] and "Traceback" not in proc.stderr


def test_evaluation_serves_as_training_did():
    """--serve yes: FIRE added at every life, as in training; --serve no: ale-py's one FIRE frame at a game
    start and the agent serves the rest, as the fast path without serving."""
    from a2c_tf1.envs.atari import FireResetEnv, ServeEachLife
    from a2c_tf1.evaluate import make_eval_env

    def wrappers(env):
        found = []
        while hasattr(env, "env"):
            found.append(env)
            env = env.env
        return found

    served, unserved = (make_eval_env("BreakoutNoFrameskip-v4", 0, serve=serve) for serve in (True, False))
    try:
        assert any(isinstance(w, ServeEachLife) for w in wrappers(served))
        assert not any(isinstance(w, ServeEachLife) for w in wrappers(unserved))
        assert [w.mode for w in wrappers(unserved) if isinstance(w, FireResetEnv)] == ["ale"]
        assert served.action_space.n == unserved.action_space.n == 4
    finally:
        served.close()
        unserved.close()


def test_evaluation_keeps_the_ids_sticky_actions():
    """ALE/*-v5 trains with sticky actions (0.25), the NoFrameskip-v4 ids without: evaluation plays the same."""
    from a2c_tf1.evaluate import make_eval_env

    for env_id, sticky in (("ALE/Breakout-v5", 0.25), ("BreakoutNoFrameskip-v4", 0.0)):
        env = make_eval_env(env_id, 0)
        try:
            assert env.unwrapped.ale.getFloat("repeat_action_probability") == pytest.approx(sticky), env_id
        finally:
            env.close()


def test_the_entropy_panel_marks_the_uniform_policy_of_the_runs_game():
    from a2c_tf1.plot import uniform_policy_entropy

    assert uniform_policy_entropy("BreakoutNoFrameskip-v4") == (pytest.approx(np.log(4)), 4)
    assert uniform_policy_entropy("PongNoFrameskip-v4") == (pytest.approx(np.log(6)), 6)
    assert uniform_policy_entropy("CartPole-v1") is None
    assert uniform_policy_entropy("NoSuchGame-v0") is None and uniform_policy_entropy(None) is None


def test_the_reference_line_is_the_published_curve_of_the_runs_game(tmp_path, monkeypatch):
    """The dashed line's points are the shipped Breakout curve up to the run's last step (160k here)."""
    import matplotlib.figure

    from a2c_tf1 import reference

    _fixture_run(tmp_path / "run", env_id="BreakoutNoFrameskip-v4")
    figures = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, *a, **k: figures.append(fig))
    draw_dashboard([str(tmp_path / "run")], str(tmp_path / "x.png"), reference_games=["Breakout"])
    score_panel = figures[0].axes[0]
    [line] = [line for line in score_panel.lines if line.get_label() == reference.LABEL]
    steps, scores = reference.published_curve("Breakout")
    keep = steps < 160_000
    np.testing.assert_allclose(line.get_xdata(), np.append(steps[keep], 160_000) / 1e6)
    np.testing.assert_allclose(line.get_ydata(), np.append(scores[keep], reference.published_score("Breakout", 160_000)))
    [entropy_panel] = [ax for ax in figures[0].axes if ax.get_title() == "Policy entropy"]
    assert [line.get_label() for line in entropy_panel.lines][-1] == "ln 4 (uniform, 4 actions)"


def test_the_dashboard_is_written_whole_or_not_at_all(tmp_path):
    _fixture_run(tmp_path / "run")
    (tmp_path / "a_file").write_text("")
    blocked = _plot(tmp_path / "run", "-o", tmp_path / "a_file" / "dash.png")
    assert blocked.returncode == 2 and "Traceback" not in blocked.stderr, blocked.stderr
    assert blocked.stderr.count("\n") == 1 and "error: -o " in blocked.stderr and "is a file" in blocked.stderr
    ok = _plot(tmp_path / "run", "-o", tmp_path / "out" / "dash")  # no extension: a PNG, named as matplotlib would
    assert ok.returncode == 0, ok.stderr
    assert os.listdir(tmp_path / "out") == ["dash.png"]  # the temp file it was drawn into is renamed, not left
    assert (tmp_path / "out" / "dash.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class _Ale:
    def __init__(self, env):
        self.env = env

    def game_over(self):
        return self.env.t >= 5

    def getScreenRGB(self):
        return np.full((210, 160, 3), self.env.t * 40, np.uint8)


class _FiveStepGames:
    """Games of 5 steps scoring 1 a step; Ctrl-C arrives in the middle of game ``interrupt_in``."""

    def __init__(self, interrupt_in):
        self.games, self.t, self.interrupt_in, self.closed = 0, 0, interrupt_in, False
        self.unwrapped = self
        self.ale = _Ale(self)

    def reset(self):
        self.games, self.t = self.games + 1, 0
        return np.zeros((84, 84, 1), np.uint8), {}

    def step(self, action):
        self.t += 1
        if self.games == self.interrupt_in and self.t == 3:
            raise KeyboardInterrupt
        return np.zeros((84, 84, 1), np.uint8), 1.0, False, False, {}

    def close(self):
        self.closed = True


class _Uniform:
    recurrent, initial_state = False, None

    def step(self, batch):
        return np.zeros(len(batch), np.int64), None, None


def test_ctrl_c_during_evaluation_keeps_the_games_that_finished(tmp_path):
    from a2c_tf1.evaluate import evaluate

    out, env = io.StringIO(), _FiveStepGames(interrupt_in=3)
    result = evaluate(_Uniform(), env, "Fake", 10, 4, video_path=str(tmp_path / "g.gif"),
                      scores_path=str(tmp_path / "games.csv"), stream=out)
    assert result["interrupted"] and result["scores"] == [5.0, 5.0] and result["lengths"] == [5, 5]
    assert env.closed
    assert "interrupted after 2 of 10 games" in out.getvalue() and "Fake: 2 games" in out.getvalue()
    assert (tmp_path / "games.csv").read_text().splitlines() == ["game,score,length", "0,5,5", "1,5,5"]
    assert result["video_frames"] == 5 and (tmp_path / "g.gif").exists()  # the first game, whole
    nothing = evaluate(_Uniform(), _FiveStepGames(interrupt_in=1), "Fake", 10, 4, stream=io.StringIO(),
                       scores_path=str(tmp_path / "games.csv"))
    assert nothing["interrupted"] and nothing["scores"] == [] and "mean" not in nothing
    # The earlier evaluation's games are not left to pass for this one's.
    assert (tmp_path / "games.csv").read_text().splitlines() == ["game,score,length"]
