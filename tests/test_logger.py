"""monitor.csv: appended to when its columns are ours, set aside (never overwritten) when they are not,
and the dashboard reads the set-aside files with the new one."""
import io
import os

import numpy as np

from a2c_tf1.logger import MONITOR_COLUMNS, Logger
from a2c_tf1.plot import read_env_id, read_scores

BASELINES_MONITOR = '#{"t_start": 1.0, "env_id": "BreakoutNoFrameskip-v4"}\nr,l,t\n2,100,1.0\n5,300,2.0\n'


def _log_one_game(log_dir, step: int, score: float = 7.0) -> str:
    stream = io.StringIO()
    logger = Logger(str(log_dir), stream=stream, tensorboard=False, env_id="BreakoutNoFrameskip-v4")
    logger.write_episodes([{"kind": "game", "r": score, "l": 50}, {"kind": "life", "r": 1.0, "l": 10}], step)
    logger.close()
    return stream.getvalue()


def test_same_columns_are_appended_to(tmp_path):
    assert _log_one_game(tmp_path, 80) == ""
    assert _log_one_game(tmp_path, 160, score=3.0) == ""
    lines = (tmp_path / "monitor.csv").read_text().splitlines()
    assert lines[1] == MONITOR_COLUMNS and len(lines) == 4  # one header line, one column line, two games
    assert sorted(os.listdir(tmp_path)) == ["monitor.csv"]


def test_other_columns_are_set_aside_never_overwriting(tmp_path):
    (tmp_path / "monitor.csv").write_text(BASELINES_MONITOR)
    (tmp_path / "monitor.old-1.csv").write_text("an earlier set-aside file\n")
    message = _log_one_game(tmp_path, 80)
    assert message.count("\n") == 1
    assert "has columns r,l,t, not r,l,t,total_timesteps" in message
    assert str(tmp_path / "monitor.old-2.csv") in message
    assert (tmp_path / "monitor.old-1.csv").read_text() == "an earlier set-aside file\n"
    assert (tmp_path / "monitor.old-2.csv").read_text() == BASELINES_MONITOR
    lines = (tmp_path / "monitor.csv").read_text().splitlines()
    assert lines[0].startswith('#{"t_start"') and lines[1] == MONITOR_COLUMNS
    assert lines[2].startswith("7,50,") and lines[2].endswith(",80")


def test_the_dashboard_reads_the_set_aside_file_then_the_new_one(tmp_path):
    (tmp_path / "monitor.csv").write_text(BASELINES_MONITOR)
    _log_one_game(tmp_path, 480)
    steps, scores = read_scores(str(tmp_path))
    # the r,l,t file's steps are its running sum of game lengths (100, 400); the new file records its own
    np.testing.assert_array_equal(steps, [100, 400, 480])
    np.testing.assert_array_equal(scores, [2, 5, 7])
    assert read_env_id(str(tmp_path)) == "BreakoutNoFrameskip-v4"
