"""The run-against-published table: last-100 means at given steps, hand-computed."""
import json
import subprocess
import sys

import numpy as np
import pytest

from a2c_tf1 import compare, reference


def test_last_100_mean_takes_the_games_finished_by_the_step():
    steps = np.arange(1, 251) * 1000.0  # game i ends at step 1000 * i
    scores = np.arange(1, 251, dtype=float)
    assert compare.last_100_mean(steps, scores, 999) is None
    assert compare.last_100_mean(steps, scores, 3500) == pytest.approx(2.0)  # games 1, 2, 3
    assert compare.last_100_mean(steps, scores, 200_000) == pytest.approx(150.5)  # games 101..200
    assert compare.last_100_mean(steps, scores, 1e9) == pytest.approx(200.5)  # games 151..250


def write_run(folder, env_id="BreakoutNoFrameskip-v4", offset=0.0, rows=15):
    folder.mkdir()
    with open(folder / "monitor.csv", "w") as f:
        f.write("#" + json.dumps({"t_start": 0.0, "env_id": env_id}) + "\n")
        f.write("r,l,t,total_timesteps\n")
        for i in range(1, 301):  # a game of score i/10 + offset ends every 5,000 steps
            f.write(f"{i / 10 + offset},100,{i},{i * 5000}\n")
    with open(folder / "progress.csv", "w") as f:
        f.write("nupdates,total_timesteps,fps,policy_entropy\n")
        for i in range(1, rows + 1):
            f.write(f"{i},{i * 100_000},{700 + i},{1.4 - i / 100}\n")


def test_table_beside_the_published_curve(tmp_path):
    write_run(tmp_path / "run")
    table = compare.comparison_table([str(tmp_path / "run")], (1_000_000, 1_500_000, 2_000_000))
    row = table.splitlines()[-1].split(" | ")
    # 1M: games 101..200 (scores 10.1..20.0) -> 15.05; 1.5M: games 201..300 -> 25.05; 2M not reached.
    published = [reference.published_score("Breakout", s) for s in (1e6, 1.5e6)]
    assert row[1] == f"15.05 ({published[0]:.1f})"
    assert row[2] == f"25.05 ({published[1]:.1f})"
    assert row[3] == ""
    assert row[4:] == ["1.25", "715 |"]  # the log row at 1.5M


def test_cli_prints_the_table_and_refuses_bad_steps(tmp_path):
    write_run(tmp_path / "run", env_id="PongNoFrameskip-v4")
    ok = subprocess.run([sys.executable, "-m", "a2c_tf1.compare", str(tmp_path / "run"), "--at", "1e6"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "published Pong curve" in ok.stdout and "| 1M |" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "a2c_tf1.compare", str(tmp_path / "run"), "--at", "2e7"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "steps must lie in" in bad.stderr


def test_the_mean_row_averages_the_runs_where_every_run_has_got_there(tmp_path):
    write_run(tmp_path / "a")
    write_run(tmp_path / "b", offset=3.0)  # 3 above a at every step
    write_run(tmp_path / "c", offset=-1.5, rows=12)  # stops at 1.2M
    runs = [str(tmp_path / n) for n in "abc"]
    table = compare.comparison_table(runs, (1_000_000, 1_500_000), mean_row=True)
    mean = table.splitlines()[-1].split(" | ")
    # 1M: a 15.05, b 18.05, c 13.55 -> 15.55; squared deviations 0.25 + 6.25 + 4.0 = 10.5, over n-1 = 2 is
    # 5.25, whose root 2.2913 over sqrt(3) is a standard error of 1.32; 1.5M: c has not got there -> blank.
    assert mean[0] == "| **mean of 3 runs** (± standard error)"
    assert mean[1] == f"15.55 ± 1.32 ({reference.published_score('Breakout', 1e6):.1f})"
    assert mean[2] == ""
    assert "**mean of" not in compare.comparison_table(runs, (1_000_000,))
    one = compare.comparison_table(runs[:1], (1_000_000,), mean_row=True).splitlines()[-1].split(" | ")
    assert one[1] == f"15.05 ({reference.published_score('Breakout', 1e6):.1f})"  # one run: no error to give


def test_lines_a_live_run_is_still_writing_are_left_out(tmp_path):
    """A compare or plot during training (or after a kill) meets a last line without its newline."""
    write_run(tmp_path / "run")
    whole_steps, whole_scores = compare.read_scores(str(tmp_path / "run"))
    whole_progress = compare.read_progress(str(tmp_path / "run"))
    with open(tmp_path / "run" / "monitor.csv", "a") as f:
        f.write("30.1,100,301,150")  # cut in its last cell: every cell there, the step 150 of 1505000
    with open(tmp_path / "run" / "progress.csv", "a") as f:
        f.write("16,1600000,716,1.")  # a row whose entropy is half written
    steps, scores = compare.read_scores(str(tmp_path / "run"))
    np.testing.assert_array_equal(steps, whole_steps)
    np.testing.assert_array_equal(scores, whole_scores)
    progress = compare.read_progress(str(tmp_path / "run"))
    assert progress["total_timesteps"][-1] == 1_500_000 and len(progress["fps"]) == len(whole_progress["fps"])
    write_run(tmp_path / "short")
    with open(tmp_path / "short" / "monitor.csv", "a") as f:
        f.write("3\n2,1\n")  # whole lines with too few cells
    assert len(compare.read_scores(str(tmp_path / "short"))[1]) == len(whole_scores)


@pytest.mark.parametrize("text", ["inf", "nan", "1e6,x"])
def test_steps_that_are_not_numbers_are_one_line(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="not a comma-separated list of steps"):
        compare._steps(text)
