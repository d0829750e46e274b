"""The real command line, run as subprocesses (``run_breakout.py`` and ``python -m a2c_tf1``).

Every run writes only under pytest's tmp_path (--models-dir/--log-dir) and uses tiny budgets.
"""
from __future__ import annotations

import csv
import glob
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from a2c_tf1.checkpoint import load_params

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = "run_breakout.py"
MODULE = "module"
PROGS = {SCRIPT: "run_breakout.py", MODULE: "python -m a2c_tf1"}
BREAKOUT = "BreakoutNoFrameskip-v4.save"
CARTPOLE = "CartPole-v1.save"
TIMEOUT = 300

# TensorFlow/absl start-up chatter that reaches stderr even with TF_CPP_MIN_LOG_LEVEL=3.
_NOISE = re.compile(
    r"^(WARNING:tensorflow:|Instructions for updating:|Call initializer instance|"
    r"WARNING: All log messages before absl|[IWE]\d{4} |.*cudart_stub|.*cpu_feature_guard|.*oneDNN|"
    r"To enable the following instructions|$)")


# One OpenBLAS thread in the children: building the CNN runs an SVD of a 3136x512 matrix (orthogonal init),
# which on a 2-core machine busy with another run takes ~13 s of CPU with 2 OpenBLAS threads (they spin
# waiting for each other) and ~0.3 s with one. It changes nothing the tests look at.
CHILD_ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def run_cli(entry: str, *args: str) -> subprocess.CompletedProcess:
    head = [sys.executable, SCRIPT] if entry == SCRIPT else [sys.executable, "-m", "a2c_tf1"]
    return subprocess.run(head + [str(a) for a in args], cwd=ROOT, capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL, env=CHILD_ENV)


def dirs(tmp) -> list[str]:
    return ["--models-dir", str(tmp / "m"), "--log-dir", str(tmp / "l")]


def meaningful_stderr(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if not _NOISE.match(line)]


def assert_one_line_error(proc: subprocess.CompletedProcess, entry: str, *fragments: str) -> str:
    """Exit != 0, no traceback, exactly one non-noise stderr line '<prog>: error: ...' holding ``fragments``."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = meaningful_stderr(proc)
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith(f"{PROGS[entry]}: error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def read_progress(log_dir) -> tuple[list[str], list[dict]]:
    with open(os.path.join(log_dir, "progress.csv"), newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    return header, [dict(zip(header, r)) for r in rows[1:]]


def file_bytes(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def all_finite(arrays) -> bool:
    return all(np.isfinite(a).all() for a in arrays)


# ---- shared runs ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def breakout_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("breakout")
    proc = run_cli(SCRIPT, "--num-timesteps", 480, "--nenvs", 4, "--nsteps", 5, "--log-interval", 10, *dirs(tmp))
    return tmp, proc


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cartpole")
    proc = run_cli(MODULE, "--env", "CartPole-v1", "--policy", "mlp", "--num-timesteps", 400, *dirs(tmp))
    return tmp, proc


# ---- training runs ----------------------------------------------------------------------------

PROGRESS_COLUMNS = ["nupdates", "total_timesteps", "fps", "policy_entropy", "value_loss", "policy_loss",
                    "explained_variance", "eprewmean", "eplenmean"]


def test_breakout_smoke(breakout_run):
    tmp, proc = breakout_run
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert "Traceback" not in proc.stderr
    save = tmp / "m" / BREAKOUT
    params = load_params(str(save))
    assert isinstance(params, list) and len(params) == 12
    assert all(a.dtype == np.float32 for a in params) and all_finite(params)
    assert (tmp / "m" / (BREAKOUT + ".state")).is_file()
    assert sorted(os.listdir(tmp / "m")) == [BREAKOUT, BREAKOUT + ".state"]  # no *.tmp left over

    header, rows = read_progress(tmp / "l")
    for column in PROGRESS_COLUMNS:
        assert column in header, (column, header)
    steps = [int(r["total_timesteps"]) for r in rows]
    assert steps[-1] == 480  # 4 envs x 5 steps = 20 per update; 480 is a multiple
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    assert [int(r["nupdates"]) for r in rows] == [1, 10, 20, 24]
    assert (tmp / "l" / "monitor.csv").is_file()
    assert file_bytes(tmp / "l" / "monitor.csv").startswith(b'#{"t_start"')
    assert glob.glob(str(tmp / "l" / "tb" / "events.out.tfevents.*"))
    assert "trained to timestep 480" in proc.stdout


def test_breakout_resume_and_already(breakout_run, tmp_path):
    first, proc = breakout_run
    assert proc.returncode == 0
    shutil.copytree(first / "m", tmp_path / "m")
    shutil.copytree(first / "l", tmp_path / "l")
    common = ["--nenvs", 4, "--nsteps", 5, "--log-interval", 10, *dirs(tmp_path)]

    resumed = run_cli(SCRIPT, "--num-timesteps", 960, *common)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr
    assert "resuming from" in resumed.stdout
    assert "at timestep 480" in resumed.stdout
    header, rows = read_progress(tmp_path / "l")
    assert header == read_progress(first / "l")[0]  # the header is not written twice
    steps = [int(r["total_timesteps"]) for r in rows]
    assert steps[:4] == [20, 200, 400, 480]
    assert steps[-1] == 960
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    assert int(rows[-1]["nupdates"]) == 48  # the update count continues too
    assert len(load_params(str(tmp_path / "m" / BREAKOUT))) == 12

    saved = file_bytes(tmp_path / "m" / BREAKOUT)
    csv_before = file_bytes(tmp_path / "l" / "progress.csv")
    done = run_cli(SCRIPT, "--num-timesteps", 960, *common)
    assert done.returncode == 0, done.stderr
    assert "already" in done.stdout
    assert "Traceback" not in done.stderr
    assert file_bytes(tmp_path / "m" / BREAKOUT) == saved
    assert file_bytes(tmp_path / "l" / "progress.csv") == csv_before


def test_cartpole_mlp(cartpole_run):
    tmp, proc = cartpole_run
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert "Traceback" not in proc.stderr
    params = load_params(str(tmp / "m" / CARTPOLE))
    assert [a.shape for a in params] == [(4, 64), (64,), (64, 64), (64,), (64, 2), (2,), (64, 1), (1,)]
    _, rows = read_progress(tmp / "l")
    assert int(rows[-1]["total_timesteps"]) == 400  # 16 envs x 5 steps = 80 per update


def test_presets_one_per_line():
    proc = run_cli(MODULE, "presets")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    names = [line.split()[0] for line in lines]
    assert "breakout" in names and "cartpole" in names
    assert len(names) == len(set(names)) == len(lines)


def test_gymnasium_stack_trains_breakout_and_records_whole_games(tmp_path):
    """``--env-stack gymnasium`` runs baselines' wrapper stack; a tiny run saves and logs games."""
    proc = run_cli(SCRIPT, "--env-stack", "gymnasium", "--num-timesteps", 1200, "--nenvs", 2, "--nsteps", 5,
                   "--log-interval", 40, *dirs(tmp_path))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert load_params(str(tmp_path / "m" / BREAKOUT))
    _, rows = read_progress(tmp_path / "l")
    assert int(rows[-1]["total_timesteps"]) == 1200
    games = np.loadtxt(tmp_path / "l" / "monitor.csv", delimiter=",", skiprows=2, ndmin=2)
    assert len(games) >= 1 and (games[:, 1] > 100).all(), "whole 5-life games, not single lives"


# ---- errors -----------------------------------------------------------------------------------

# (entry point, flags, fragments the one error line must hold)
ERROR_CASES = {
    "unknown_env": (MODULE, ["--env", "NoSuchGame-v0"], ["NoSuchGame-v0", "try"]),
    "nenvs_0": (SCRIPT, ["--nenvs", "0"], ["--nenvs", "'0'", "at least 1", "--help"]),
    "lr_abc": (MODULE, ["--lr", "abc"], ["--lr", "'abc'", "not a number"]),
    "lr_negative": (SCRIPT, ["--lr", "-1"], ["--lr", "'-1'", "must be"]),
    "lrschedule": (MODULE, ["--lrschedule", "wiggly"], ["wiggly", "constant", "linear"]),
    "policy": (SCRIPT, ["--policy", "rnn"], ["rnn", "cnn", "mlp"]),
    "preset": (MODULE, ["--preset", "nope"], ["nope", "known presets", "breakout", "cartpole"]),
    "cnn_on_vectors": (MODULE, ["--policy", "cnn", "--env", "CartPole-v1"], ["CartPole-v1", "use --policy mlp"]),
    "generation": (SCRIPT, ["--baselines", "2019"], ["--baselines", "'2019'", "2017", "2018"]),
    "serve": (MODULE, ["--serve", "maybe"], ["--serve", "'maybe'", "yes or no"]),
    "env_stack": (SCRIPT, ["--env-stack", "gym"], ["--env-stack", "'gym'", "ale", "gymnasium"]),
}


@pytest.fixture(scope="module")
def error_runs(tmp_path_factory):
    """All the flag errors at once (each is mostly TensorFlow's import time)."""
    base = tmp_path_factory.mktemp("errors")

    def go(item):
        name, (entry, flags, _) = item
        return name, run_cli(entry, *flags, *dirs(base / name))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(go, ERROR_CASES.items())), base


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_flag_errors(error_runs, case):
    results, base = error_runs
    entry, _, fragments = ERROR_CASES[case]
    assert_one_line_error(results[case], entry, "error", *fragments)
    assert not os.path.exists(base / case / "m"), "a refused run should write no checkpoint"


@pytest.mark.parametrize("damage", ["garbage", "cut_at_7_bytes"])
def test_corrupt_checkpoint_is_not_overwritten(breakout_run, tmp_path, damage):
    """'cut_at_7_bytes' is a BUG: the first 7 bytes of a real checkpoint end inside pickle's 8-byte FRAME
    size; struct.error escapes load_params and the CLI prints a traceback instead of 'cannot resume'."""
    save = tmp_path / "m" / BREAKOUT
    save.parent.mkdir()
    if damage == "garbage":
        garbage = bytes(range(256)) * 8
    else:
        garbage = file_bytes(breakout_run[0] / "m" / BREAKOUT)[:7]
    save.write_bytes(garbage)
    proc = run_cli(SCRIPT, "--nenvs", 1, "--nsteps", 5, "--num-timesteps", 5, *dirs(tmp_path))
    line = assert_one_line_error(proc, SCRIPT, "cannot resume", str(save), "--models-dir")
    assert file_bytes(save) == garbage, line
    assert os.listdir(tmp_path / "m") == [BREAKOUT]


def test_checkpoint_of_another_policy_names_a_variable(cartpole_run, tmp_path):
    source, proc = cartpole_run
    assert proc.returncode == 0
    save = tmp_path / "m" / BREAKOUT
    save.parent.mkdir()
    shutil.copyfile(source / "m" / CARTPOLE, save)
    before = file_bytes(save)
    proc = run_cli(SCRIPT, "--nenvs", 1, "--nsteps", 5, "--num-timesteps", 5, *dirs(tmp_path))
    line = assert_one_line_error(proc, SCRIPT, "cannot resume", "model/", "--policy")
    # the mlp file holds 8 arrays; the cnn's 9th variable is the first that has no array
    assert "model/pi/w" in line, line
    assert file_bytes(save) == before


# ---- divergence -------------------------------------------------------------------------------
# --lr 1e30 diverges reliably, on the second update: RMSProp (rms slot starting at 1) turns the first
# (clipped) gradient into a step of ~1e30 * g, the weights become ~1e29, and the next forward pass
# squares a value of that size, which overflows float32 (value_loss = inf). So with --save-interval 5 a
# run started from nothing diverges before its first checkpoint ("no checkpoint was written"); to test
# that an earlier checkpoint survives, the diverging run resumes from the CartPole run's checkpoint.

NAN_FLAGS = ["--env", "CartPole-v1", "--policy", "mlp", "--lr", "1e30", "--lrschedule", "constant",
             "--num-timesteps", "200000", "--save-interval", "5"]


def test_divergence_keeps_the_previous_checkpoint(cartpole_run, tmp_path):
    source, proc = cartpole_run
    assert proc.returncode == 0
    shutil.copytree(source / "m", tmp_path / "m")
    save = tmp_path / "m" / CARTPOLE
    # A resume checks the run's settings, so the checkpoint is made one of a run with the exploding lr.
    from a2c_tf1.agent import decode_settings, encode_settings
    from a2c_tf1.checkpoint import save_params

    state = load_params(str(save) + ".state")
    settings = decode_settings(state["settings_json"], "test")
    state["settings_json"] = encode_settings({**settings, "lr": 1e30, "lrschedule": "constant"})
    save_params(str(save) + ".state", state)
    before, state_before = file_bytes(save), file_bytes(str(save) + ".state")
    proc = run_cli(MODULE, *NAN_FLAGS, *dirs(tmp_path))
    assert "resuming from" in proc.stdout
    assert_one_line_error(proc, MODULE, "diverged", "still holds the last good weights", "--lr")
    assert file_bytes(save) == before
    assert file_bytes(str(save) + ".state") == state_before
    params = load_params(str(save))
    assert len(params) == 8 and all_finite(params)


def test_divergence_before_any_checkpoint(tmp_path):
    proc = run_cli(MODULE, *NAN_FLAGS, *dirs(tmp_path))
    assert_one_line_error(proc, MODULE, "diverged", "value_loss is inf", "no checkpoint was written")
    assert not os.path.exists(tmp_path / "m" / CARTPOLE)


def test_divergence_claim_of_last_good_weights_is_true(tmp_path):
    """A checkpoint that the error message calls 'the last good weights' must hold finite weights.

    (BUG in a2c_tf1 as of commit 3bcb056.) train_with_diagnostics checks the losses of the forward pass, which
    ran on the weights *before* the update; the update itself can overflow the weights to inf/NaN. learn()
    then saved them (save_interval 1 here; likewise any update that is a multiple of --save-interval, or the
    final one), and only the next update raised TrainingDiverged, whose message said the file 'still holds
    the last good weights'. --lr 3e38 is finite in float32; --max-grad-norm 1e30 leaves the first gradient
    unclipped (|g| ~ 5 for model/v/b), so lr * g overflows on update 1, and update 2 reports NaN.
    """
    flags = ["--env", "CartPole-v1", "--policy", "mlp", "--lr", "3e38", "--max-grad-norm", "1e30",
             "--lrschedule", "constant", "--num-timesteps", "200000", "--save-interval", "1"]
    proc = run_cli(MODULE, *flags, *dirs(tmp_path))
    assert proc.returncode != 0
    assert "diverged" in proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    save = tmp_path / "m" / CARTPOLE
    if "still holds the last good weights" in proc.stderr:
        params = load_params(str(save))
        bad = [i for i, a in enumerate(params) if not np.isfinite(a).all()]
        assert not bad, f"the checkpoint called 'the last good weights' has non-finite arrays {bad}: {proc.stderr}"
    else:
        assert "no checkpoint was written" in proc.stderr, proc.stderr
        assert not save.exists()


# ---- Ctrl-C ------------------------------------------------------------------------------------
def test_ctrl_c_saves_and_the_same_command_resumes(tmp_path):
    import signal
    import time

    from a2c_tf1.checkpoint import load_params as load

    args = [sys.executable, "-m", "a2c_tf1", "--preset", "cartpole", "--num-timesteps", "10000000",
            "--log-interval", "50", *dirs(tmp_path)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=CHILD_ENV)
    progress = tmp_path / "l" / "progress.csv"
    deadline = time.time() + TIMEOUT
    while time.time() < deadline and (not progress.exists() or progress.read_text().count("\n") < 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130, err
    assert "interrupted at timestep" in err and "Run the same command to resume" in err
    state = load(str(tmp_path / "m" / CARTPOLE) + ".state")
    assert state["timestep"] > 0
    assert all(np.all(np.isfinite(a)) for a in load(str(tmp_path / "m" / CARTPOLE)))
    again = subprocess.run(args[:5] + ["--num-timesteps", str(int(state["timestep"]) + 400)] + args[7:],
                           cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, env=CHILD_ENV)
    assert again.returncode == 0, again.stderr
    assert f"resuming from {tmp_path / 'm' / CARTPOLE} at timestep {int(state['timestep']):,}" in again.stdout


# ---- SIGTERM, and SIGINT inherited as ignored (nohup ... & from a script) -----------------------------
def _ignore_sigint() -> None:
    """Runs in the child before exec: what a non-interactive shell does to a job started with '&'."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_sigterm_and_an_ignored_sigint_save_and_the_same_command_resumes(tmp_path):
    import signal
    import time

    from a2c_tf1.checkpoint import fingerprint

    args = [sys.executable, SCRIPT, "--preset", "cartpole", "--num-timesteps", "10000000", "--log-interval", "50",
            *dirs(tmp_path)]
    save, progress = str(tmp_path / "m" / CARTPOLE), tmp_path / "l" / "progress.csv"
    children = []

    def start(name: str):
        with open(tmp_path / f"{name}.out", "w") as out, open(tmp_path / f"{name}.err", "w") as err:
            proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    env=CHILD_ENV, preexec_fn=_ignore_sigint)
        children.append(proc)
        return proc

    def wait_for(proc, ready) -> None:
        deadline = time.time() + TIMEOUT
        while not ready():
            assert proc.poll() is None, (tmp_path / "first.err").read_text()[-2000:]
            assert time.time() < deadline, "the run did not get going in time"
            time.sleep(0.2)

    def rows() -> int:
        return progress.read_text().count("\n") if progress.exists() else 0

    def stop(proc, signum, name: str) -> int:
        proc.send_signal(signum)
        proc.wait(timeout=TIMEOUT)
        err = (tmp_path / f"{name}.err").read_text()
        assert proc.returncode == 128 + signum, err
        assert "interrupted at timestep" in err and signal.Signals(signum).name in err, err
        assert "Run the same command to resume" in err
        state = load_params(save + ".state")
        assert np.array_equal(state["weights_sha256"], fingerprint(load_params(save))), "a mismatched pair"
        assert all_finite(load_params(save))
        return int(state["timestep"])

    try:
        first = start("first")
        wait_for(first, lambda: rows() >= 3)
        stopped_at = stop(first, signal.SIGTERM, "first")
        assert stopped_at > 0

        # the same command resumes; SIGINT, inherited as ignored, still stops it and saves
        second = start("second")
        before = rows()
        wait_for(second, lambda: rows() >= before + 2)
        assert f"resuming from {save} at timestep {stopped_at:,}" in (tmp_path / "second.out").read_text()
        stopped_again = stop(second, signal.SIGINT, "second")
        assert stopped_again > stopped_at

        finish = args[:4] + ["--num-timesteps", str(stopped_again + 400)] + args[6:]
        done = subprocess.run(finish, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, env=CHILD_ENV)
        assert done.returncode == 0, done.stderr
        assert f"resuming from {save} at timestep {stopped_again:,}" in done.stdout
        assert f"trained to timestep {stopped_again + 400:,}" in done.stdout
    finally:
        for proc in children:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def test_resume_with_other_settings_is_one_line_and_touches_nothing(cartpole_run, tmp_path):
    first, proc = cartpole_run
    assert proc.returncode == 0, proc.stderr
    shutil.copytree(first / "m", tmp_path / "m")
    shutil.copytree(first / "l", tmp_path / "l")
    before = {p: file_bytes(p) for p in glob.glob(str(tmp_path / "*" / "*.*"))}
    # --nstack changes the first layer's shape too: the settings are compared before any weight is loaded.
    changed = run_cli(MODULE, "--env", "CartPole-v1", "--policy", "mlp", "--num-timesteps", 800, "--nenvs", 4,
                      "--lr", "1e-3", "--nstack", 2, *dirs(tmp_path))
    assert_one_line_error(changed, MODULE, "other settings", "--lr 0.0007 -> 0.001", "--nenvs 8 -> 4",
                          "--nstack 1 -> 2")
    assert {p: file_bytes(p) for p in glob.glob(str(tmp_path / "*" / "*.*"))} == before


def test_rows_logged_after_the_checkpoint_are_set_aside_on_resume(cartpole_run, tmp_path):
    """As after a kill -9: the logs ran past the last checkpoint; the resumed run redoes those steps."""
    first, proc = cartpole_run
    assert proc.returncode == 0, proc.stderr
    shutil.copytree(first / "m", tmp_path / "m")
    shutil.copytree(first / "l", tmp_path / "l")
    with open(tmp_path / "l" / "progress.csv", "a") as f:
        f.write("6,480," + ",".join(["1"] * (len(read_progress(tmp_path / "l")[0]) - 2)) + "\n")
    with open(tmp_path / "l" / "monitor.csv", "a") as f:
        f.write("30,30,9.0,480\n")
    resumed = run_cli(MODULE, "--env", "CartPole-v1", "--policy", "mlp", "--num-timesteps", 800, *dirs(tmp_path))
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr
    assert "moved them to" in resumed.stdout
    _, rows = read_progress(tmp_path / "l")
    steps = [int(r["total_timesteps"]) for r in rows]
    assert steps == sorted(steps) and len(set(steps)) == len(steps) and steps[-1] == 800
    assert (tmp_path / "l" / "progress.undone-1.csv").read_text().splitlines()[1].startswith("6,480,")
    assert (tmp_path / "l" / "monitor.undone-1.csv").read_text().endswith("30,30,9.0,480\n")
