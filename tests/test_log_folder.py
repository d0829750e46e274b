"""A log folder holds one run of one game: rows logged after the checkpoint a run resumes from, another
game's logs and a progress.csv of other columns are set aside, never deleted; stale temp files go."""
import io
import os
import subprocess
import sys

from a2c_tf1.files import atomic_write, remove_stale_temp_files
from a2c_tf1.log_folder import set_aside_other_game, set_aside_rows_after
from a2c_tf1.logger import Logger

MONITOR = ('#{"t_start": 1.0, "env_id": "BreakoutNoFrameskip-v4"}\nr,l,t,total_timesteps\n'
           '2,100,1.0,400\n5,300,2.0,800\n7,310,3.0,1200\n')
PROGRESS = "nupdates,total_timesteps,fps\n10,400,90\n20,800,91\n30,1200,92\n40,16"  # the last line cut by a kill


def test_rows_after_the_resume_step_move_to_an_undone_file(tmp_path):
    monitor, progress = tmp_path / "monitor.csv", tmp_path / "progress.csv"
    monitor.write_text(MONITOR)
    progress.write_text(PROGRESS)
    (tmp_path / "progress.undone-1.csv").write_text("an earlier one\n")
    assert set_aside_rows_after(str(monitor), 800) == str(tmp_path / "monitor.undone-1.csv")
    assert set_aside_rows_after(str(progress), 800) == str(tmp_path / "progress.undone-2.csv")
    assert monitor.read_text() == MONITOR.rsplit("7,310", 1)[0]  # header lines and the rows up to 800 kept
    assert (tmp_path / "monitor.undone-1.csv").read_text() == MONITOR.splitlines(True)[0] + \
        "r,l,t,total_timesteps\n7,310,3.0,1200\n"
    assert progress.read_text() == "nupdates,total_timesteps,fps\n10,400,90\n20,800,91\n"
    assert (tmp_path / "progress.undone-2.csv").read_text() == "nupdates,total_timesteps,fps\n30,1200,92\n40,16\n"
    assert (tmp_path / "progress.undone-1.csv").read_text() == "an earlier one\n"
    assert set_aside_rows_after(str(progress), 800) is None  # nothing left to move


def test_files_without_a_step_column_are_left_alone(tmp_path):
    path = tmp_path / "monitor.csv"
    path.write_text("r,l,t\n2,100,1.0\n")
    assert set_aside_rows_after(str(path), 0) is None
    assert path.read_text() == "r,l,t\n2,100,1.0\n"


def test_the_logger_sets_aside_rows_after_its_resume_step_and_says_so(tmp_path):
    (tmp_path / "monitor.csv").write_text(MONITOR)
    (tmp_path / "progress.csv").write_text(PROGRESS)
    stream = io.StringIO()
    logger = Logger(str(tmp_path), stream=stream, tensorboard=False, env_id="BreakoutNoFrameskip-v4",
                    resume_step=400)
    logger.write({"nupdates": 11, "total_timesteps": 440, "fps": 93}, 440)
    logger.close()
    lines = [line for line in stream.getvalue().splitlines() if "moved them to" in line]
    assert len(lines) == 2 and all("step 400" in line for line in lines)
    assert (tmp_path / "progress.csv").read_text().splitlines()[1:] == ["10,400,90", "11,440,93"]


def test_another_games_logs_are_set_aside(tmp_path):
    (tmp_path / "monitor.csv").write_text(MONITOR)
    (tmp_path / "progress.csv").write_text(PROGRESS)
    assert set_aside_other_game(str(tmp_path), "BreakoutNoFrameskip-v4") == []
    stream = io.StringIO()
    Logger(str(tmp_path), stream=stream, tensorboard=False, env_id="PongNoFrameskip-v4").close()
    assert "another game than PongNoFrameskip-v4" in stream.getvalue()
    assert (tmp_path / "monitor.other-1.csv").read_text() == MONITOR
    assert (tmp_path / "progress.other-1.csv").read_text() == PROGRESS
    assert '"env_id": "PongNoFrameskip-v4"' in (tmp_path / "monitor.csv").read_text()
    assert not (tmp_path / "progress.csv").exists()


def test_a_progress_csv_of_other_columns_is_set_aside(tmp_path):
    (tmp_path / "progress.csv").write_text("nupdates,total_timesteps\n1,80\n")
    stream = io.StringIO()
    logger = Logger(str(tmp_path), stream=stream, tensorboard=False)
    logger.write({"nupdates": 1, "total_timesteps": 80, "grad_norm": 0.5}, 80)
    logger.close()
    assert "kept it as" in stream.getvalue()
    assert (tmp_path / "progress.old-1.csv").read_text() == "nupdates,total_timesteps\n1,80\n"
    assert (tmp_path / "progress.csv").read_text() == "nupdates,total_timesteps,grad_norm\n1,80,0.5\n"


def test_temp_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    path = tmp_path / "agent.save"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, timeout=60)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".agent.save.{dead_pid}.abc123.tmp.save"
    live = tmp_path / f".agent.save.{os.getppid()}.def456.tmp.save"  # a live process: a write under way
    other = tmp_path / f".other.save.{dead_pid}.abc123.tmp.save"
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    assert remove_stale_temp_files(str(path)) == [str(stale)]
    atomic_write(str(path), lambda f: f.write(b"complete"))
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, other.name, "agent.save"])
    assert path.read_bytes() == b"complete"


def test_resume_at_sets_aside_rows_and_keeps_logging_to_the_new_file(tmp_path):
    """A3C learns its resume step after the Logger exists: the monitor is reopened on the rewritten file."""
    (tmp_path / "monitor.csv").write_text(MONITOR)
    logger = Logger(str(tmp_path), stream=io.StringIO(), tensorboard=False, env_id="BreakoutNoFrameskip-v4")
    logger.resume_at(800)
    logger.write_episodes([{"kind": "game", "r": 9.0, "l": 40}], 840)
    logger.close()
    lines = (tmp_path / "monitor.csv").read_text().splitlines()
    assert [line.split(",")[-1] for line in lines[2:]] == ["400", "800", "840"]
    assert (tmp_path / "monitor.undone-1.csv").read_text().endswith("7,310,3.0,1200\n")
