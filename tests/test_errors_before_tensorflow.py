"""Settings that cannot work are refused before TensorFlow is imported (seconds on a small machine), so a
typo costs a fraction of a second, in both command lines, and nothing is written."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs every case in one interpreter and stops at the first that imported TensorFlow or did not fail.
CHECK = """
import contextlib, io, json, sys
from a2c_tf1.cli import main as a2c_main
from a2c_tf1.a3c.cli import main as a3c_main
for entry, argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = (a2c_main if entry == "a2c" else a3c_main)(argv)
    if code == 0 or "tensorflow" in sys.modules:
        print("FAILED", entry, argv, code, "tensorflow" in sys.modules, err.getvalue())
        break
    print("refused", entry, argv, err.getvalue().strip())
"""


def test_bad_settings_are_refused_without_importing_tensorflow(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"ps": ["127.0.0.1:1"], "worker": ["127.0.0.1:2"]}))
    dirs = ["--models-dir", str(tmp_path / "m"), "--log-dir", str(tmp_path / "l")]
    cases = [
        ("a2c", ["--env", "NoSuchGame-v4"]),
        ("a2c", ["--policy", "rnn"]),
        ("a2c", ["--policy", "cnn", "--env", "CartPole-v1"]),
        ("a2c", ["--baselines", "2019"]),
        ("a2c", ["--env-stack", "gym"]),
        ("a2c", ["--evaluate", "--scores", str(tmp_path / "games.txt")]),
        ("a2c", ["--evaluate", "--video", str(tmp_path / "game.avi")]),
        ("a2c", ["--env", "AssaultNoFrameskip-v4", "--video", str(tmp_path / "game.mp4"), "--deterministic"]),
        ("a3c", ["--episodes", "3"]),
        ("a3c", ["--env", "NoSuchGame-v4"]),
        ("a3c", ["--env", "CartPole-v1", "--policy", "cnn"]),
        ("a3c", ["--env", "BreakoutNoFrameskip-v4", "--policy", "mlp"]),
        ("a3c", ["--evaluate", "--scores", str(tmp_path)]),
        ("a3c", ["--preset", "a3c-breakout", "--action-set", "1,2,99"]),
        ("a3c", ["--job", "ps", "--task", "0", "--env", "CartPole-v1", "--cluster-spec", str(tmp_path / "none.json")]),
        ("a3c", ["--job", "worker", "--task", "3", "--env", "CartPole-v1", "--cluster-spec", str(spec)]),
    ]
    # Output folders that cannot be made: a file in the way (checked, not created, before anything else).
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    folder_cases = [
        ("a2c", ["--env", "CartPole-v1", "--policy", "mlp", "--models-dir", str(tmp_path / "m"),
                 "--log-dir", str(a_file)]),
        ("a3c", ["--env", "CartPole-v1", "--models-dir", str(a_file / "m"), "--log-dir", str(tmp_path / "l")]),
        ("a2c", ["--evaluate", "--scores", str(a_file / "games.csv"), "--models-dir", str(tmp_path / "m")]),
    ]
    runs = [(e, argv + dirs) for e, argv in cases] + folder_cases
    cases = cases + folder_cases
    proc = subprocess.run([sys.executable, "-c", CHECK, json.dumps(runs)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    refused = [line for line in proc.stdout.splitlines() if line.startswith("refused")]
    assert "FAILED" not in proc.stdout, proc.stdout
    assert len(refused) == len(cases), proc.stdout + proc.stderr[-2000:]
    assert not (tmp_path / "m").exists() and not (tmp_path / "l").exists()
    # The same mistake gets the same sentence from both command lines (one check serves both).
    cnn_on_cartpole = [line.split("error: ", 1)[1] for line in refused
                       if "'cnn'" in line and "'CartPole-v1'" in line and "--job" not in line]
    assert len(cnn_on_cartpole) == 2 and cnn_on_cartpole[0] == cnn_on_cartpole[1], cnn_on_cartpole
    assert cnn_on_cartpole[0] == ("the cnn policy needs image observations but CartPole-v1 gives shape (4,); "
                                  "use --policy mlp or lstm")
    # --evaluate's paths are checked before the checkpoint is looked for (none exists here).
    for flag, sentence in (("--scores", "give a file path ending in .csv"), ("--video", "ending in .mp4 or .gif")):
        lines = [line for line in refused if f"error: {flag} '" in line and sentence in line]
        assert len(lines) == (2 if flag == "--scores" else 1), refused
    assert any("--log-dir" in line and "is a file, not a folder" in line for line in refused), refused
    assert any("--models-dir" in line and "is a file, so the folder cannot be made" in line for line in refused), refused
    # Evaluation flags without --evaluate would be ignored by a training run: refused instead.
    without = [line for line in refused if "only with --evaluate" in line]
    assert len(without) == 2 and "--video --deterministic go only" in without[0] and "--episodes goes only" in without[1]
    assert any("--scores" in line and "is a file, not a folder" in line for line in refused), refused
