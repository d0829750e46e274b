"""A3C across processes on TensorFlow's distributed runtime, on loopback: a parameter server and two
worker processes started and supervised by ``--processes 2`` train CartPole; a worker killed with
SIGKILL is restarted and the run goes on; a chief killed with SIGKILL is restarted, goes on from the
global variables on the live parameter server (not from its older checkpoint) and saves again; a
parameter server killed with SIGKILL ends in the whole cluster resuming from the last checkpoint.
Every wait is bounded and every process is stopped by pid."""
from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from a3c_saved_step import saved_step

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET = 32_000  # the three kills and restarts took up to ~25,000 global steps on a busy machine


def wait_for(condition, timeout: float, what: str, proc: subprocess.Popen, log) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"gave up waiting for {what} (launcher exit code {proc.poll()}):\n{log()[-3000:]}")


def global_step(log_dir) -> int:
    try:
        with open(log_dir / "progress.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return 0
    return int(rows[-1]["total_timesteps"]) if rows else 0


def children(status_path) -> dict:
    try:
        with open(status_path) as f:
            status = json.load(f)
    except (OSError, ValueError):
        return {}
    return {(c["role"], c["task"]): c["pid"] for c in status["children"]} | {
        "worker_restarts": status["worker_restarts"], "cluster_restarts": status["cluster_restarts"]}


def start_steps(log_path, role: str) -> list[int]:
    """The global step each process of ``role`` started at, in the order its (appended) log says."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return []
    return [int(n.replace(",", "")) for n in re.findall(re.escape(role) + r" starts at global step ([\d,]+)", text)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_all(launcher: subprocess.Popen, pids) -> None:
    """Whatever a test leaves running: the launcher, then every child it started (by pid)."""
    if launcher.poll() is None:
        launcher.kill()
        launcher.wait(timeout=60)
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_cluster_trains_and_survives_a_killed_worker_a_killed_chief_and_a_killed_parameter_server(tmp_path):
    log_dir, models_dir = tmp_path / "l", tmp_path / "m"
    save_path = models_dir / "a3c" / "CartPole-v1.save"
    status_path = log_dir / "launcher.json"
    out_path = tmp_path / "launcher.out"
    chief_log, worker_log = log_dir / "processes" / "worker-0.log", log_dir / "processes" / "worker-1.log"
    command = [sys.executable, "-m", "a2c_tf1.a3c", "--env", "CartPole-v1", "--processes", "2", "--seed", "0",
               "--num-timesteps", str(BUDGET), "--log-interval", "1000", "--save-interval", "2000",
               "--models-dir", str(models_dir), "--log-dir", str(log_dir)]
    with open(out_path, "wb") as out:
        launcher = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    log = lambda: out_path.read_text(errors="replace")  # noqa: E731
    started: set[int] = set()
    faults = survived = 0
    try:
        wait_for(lambda: global_step(log_dir) >= 3000, 300, "the global step to rise", launcher, log)
        first = children(status_path)
        started |= {first[("ps", 0)], first[("worker", 0)], first[("worker", 1)]}

        # 1. kill -9 a worker: the launcher restarts it and the global step keeps rising.
        victim, before = first[("worker", 1)], global_step(log_dir)
        os.kill(victim, signal.SIGKILL)
        faults += 1
        wait_for(lambda: children(status_path).get("worker_restarts") == 1, 60, "the worker restart", launcher, log)
        restarted = children(status_path)[("worker", 1)]
        started.add(restarted)
        assert restarted != victim and alive(restarted)
        # Its log is appended to: the first line is the killed process's, the second the restarted one's.
        wait_for(lambda: len(start_steps(worker_log, "worker 1")) == 2, 240, "the restarted worker to re-sync",
                 launcher, log)
        wait_for(lambda: global_step(log_dir) >= before + 3000, 240, "the step to rise after the kill", launcher, log)
        survived += 1

        # 2. kill -9 the chief after a checkpoint: the launcher restarts it, and it goes on from the global
        # variables on the live parameter server (not from its checkpoint, which is older) and saves again.
        wait_for(lambda: saved_step(save_path) >= before, 240, "a checkpoint after the worker kill", launcher, log)
        chief, chief_killed_near = first[("worker", 0)], global_step(log_dir)
        os.kill(chief, signal.SIGKILL)
        faults += 1
        wait_for(lambda: children(status_path).get("worker_restarts") == 2, 60, "the chief restart", launcher, log)
        # The launcher has reaped the killed chief: the checkpoint on disk is the last one it wrote.
        chief_checkpoint = saved_step(save_path)
        new_chief = children(status_path)[("worker", 0)]
        started.add(new_chief)
        assert new_chief != chief and alive(new_chief) and not alive(chief)
        assert children(status_path)[("worker", 1)] == restarted, "worker 1 went on through the chief's restart"
        wait_for(lambda: len(start_steps(chief_log, "worker 0 (chief)")) == 2, 240, "the restarted chief to start",
                 launcher, log)
        chief_restarted_at = start_steps(chief_log, "worker 0 (chief)")[-1]
        assert chief_restarted_at > chief_checkpoint > 0, (chief_restarted_at, chief_checkpoint)
        assert "resuming from" not in chief_log.read_text(), "the restarted chief did not roll back to its checkpoint"
        wait_for(lambda: saved_step(save_path) > chief_restarted_at, 240, "a checkpoint from the restarted chief",
                 launcher, log)
        wait_for(lambda: global_step(log_dir) > saved_step(save_path) > chief_restarted_at, 240,
                 "the step to rise after the chief's restart", launcher, log)
        survived += 1

        # 3. kill -9 the parameter server after a checkpoint: the cluster restarts from it.
        checkpointed = saved_step(save_path)
        assert checkpointed < BUDGET, "the run had steps left for the parameter-server kill"
        os.kill(first[("ps", 0)], signal.SIGKILL)
        faults += 1
        wait_for(lambda: children(status_path).get("cluster_restarts") == 1, 60, "the cluster restart", launcher, log)
        started |= {pid for key, pid in children(status_path).items() if isinstance(key, tuple)}
        assert not any(alive(pid) for pid in [first[("ps", 0)], new_chief, restarted]), "the old cluster was stopped"
        code = launcher.wait(timeout=420)
        assert code == 0, log()[-3000:]
        resumed = re.findall(r"resuming from .* at global step ([\d,]+)", chief_log.read_text())
        assert resumed and int(resumed[-1].replace(",", "")) >= checkpointed > 0, resumed
        assert saved_step(save_path) >= BUDGET
        survived += 1
        print(f"\nfaults injected: {faults}, survived: {survived}; worker killed near global step {before:,}, "
              f"chief killed near {chief_killed_near:,} and restarted at {chief_restarted_at:,}, "
              f"parameter server killed after the checkpoint at {checkpointed:,}, resumed at {resumed[-1]}")
        assert not any(alive(pid) for pid in started), "every process the launcher started has exited"
    finally:
        kill_all(launcher, started)


def test_sigterm_to_the_launcher_saves_and_stops_every_process_it_started(tmp_path):
    log_dir, models_dir = tmp_path / "l", tmp_path / "m"
    out_path = tmp_path / "launcher.out"
    command = [sys.executable, "-m", "a2c_tf1.a3c", "--env", "CartPole-v1", "--processes", "2",
               "--num-timesteps", "10000000", "--log-interval", "500", "--models-dir", str(models_dir),
               "--log-dir", str(log_dir)]
    with open(out_path, "wb") as out:
        launcher = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    log = lambda: out_path.read_text(errors="replace")  # noqa: E731
    pids: list[int] = []
    try:
        wait_for(lambda: global_step(log_dir) >= 1000, 300, "the global step to rise", launcher, log)
        pids = [pid for key, pid in children(log_dir / "launcher.json").items() if isinstance(key, tuple)]
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=180) == 143, log()[-3000:]
        assert "stopped every process" in log()
        assert saved_step(models_dir / "a3c" / "CartPole-v1.save") >= 1000, "the chief saved on its way out"
        assert len(pids) == 3 and not any(alive(pid) for pid in pids)
    finally:
        kill_all(launcher, pids)


def test_a_bad_cluster_spec_is_one_line(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"ps": ["127.0.0.1:1"], "worker": ["127.0.0.1:2"]}))
    proc = subprocess.run([sys.executable, "-m", "a2c_tf1.a3c", "--env", "CartPole-v1", "--job", "worker", "--task",
                           "3", "--cluster-spec", str(spec)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    assert "--task 3 is not in" in proc.stderr


@pytest.mark.parametrize("text", ["{", json.dumps({"ps": [], "worker": ["x:1"]}), json.dumps({"worker": ["x:1"]}),
                                  json.dumps({"ps": ["x:port"], "worker": ["x:1"]}),
                                  json.dumps({"ps": ["x:1"], "worker": ["x:70000"]}),
                                  json.dumps({"ps": ["x:1"], "worker": ["x:1"]})])
def test_malformed_cluster_specs_are_refused(tmp_path, text):
    from a2c_tf1.a3c.cluster_spec import ClusterSpecError, load_cluster_spec

    spec = tmp_path / "spec.json"
    spec.write_text(text)
    with pytest.raises(ClusterSpecError):
        load_cluster_spec(str(spec), "worker", 0)


def test_waiting_for_parameter_servers_is_bounded_and_names_the_missing_one():
    import socket

    from a2c_tf1.a3c.cluster import ClusterWaitError, wait_for_parameter_servers
    from a2c_tf1.a3c.launch import free_ports

    said = []
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        up = f"127.0.0.1:{listening.getsockname()[1]}"
        wait_for_parameter_servers([up], 5.0, said.append)  # answers at once: nothing to say
        assert said == []
        down = f"127.0.0.1:{free_ports(1)[0]}"
        started = time.monotonic()
        with pytest.raises(ClusterWaitError, match=f"parameter server 1 at {down} did not answer within 1 s"):
            wait_for_parameter_servers([up, down], 1.0, said.append, poll_s=0.1)
    assert time.monotonic() - started < 10
    assert said == [f"waiting up to 1 s for parameter server 1 at {down}"]


def test_a_worker_without_its_parameter_server_stops_with_one_line(tmp_path):
    from a2c_tf1.a3c.launch import free_ports

    ps_port, worker_port = free_ports(2)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"ps": [f"127.0.0.1:{ps_port}"], "worker": [f"127.0.0.1:{worker_port}"]}))
    proc = subprocess.run([sys.executable, "-m", "a2c_tf1.a3c", "--preset", "a3c-cartpole", "--job", "worker",
                           "--task", "0", "--cluster-spec", str(spec), "--cluster-wait", "2",
                           "--log-dir", str(tmp_path / "logs"), "--models-dir", str(tmp_path / "models")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"parameter server 0 at 127.0.0.1:{ps_port} did not answer within 2 s" in proc.stderr.splitlines()[-1]
    assert not (tmp_path / "models").exists(), "nothing was written"


def run_launcher_command(command: list, timeout: float = 240) -> tuple[int, str]:
    """Run a ``--processes`` launcher to its end (killed after ``timeout``); its exit code and output."""
    launcher = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    try:
        out, _ = launcher.communicate(timeout=timeout)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    return launcher.returncode, out


def test_a_checkpoint_the_chief_cannot_restore_stops_the_cluster_and_is_left_as_it_was(tmp_path):
    save_path = tmp_path / "m" / "a3c" / "CartPole-v1.save"
    save_path.parent.mkdir(parents=True)
    save_path.write_bytes(b"not a checkpoint")
    command = [sys.executable, "-m", "a2c_tf1.a3c", "--env", "CartPole-v1", "--processes", "1",
               "--num-timesteps", "5000", "--models-dir", str(tmp_path / "m"), "--log-dir", str(tmp_path / "l")]
    code, out = run_launcher_command(command)
    assert code == 1, out
    assert "worker 0 cannot resume from the checkpoint" in out and "restarting" not in out, out
    assert save_path.read_bytes() == b"not a checkpoint", "the chief never trained from fresh weights and saved"
    assert "cannot resume" in (tmp_path / "l" / "processes" / "worker-0.log").read_text()


def test_a_cluster_resuming_with_other_settings_stops_and_leaves_the_checkpoint_as_it_was(tmp_path):
    dirs = ["--models-dir", str(tmp_path / "m"), "--log-dir", str(tmp_path / "l")]
    first = subprocess.run([sys.executable, "-m", "a2c_tf1.a3c", "--env", "CartPole-v1", "--threads", "1",
                            "--num-timesteps", "300", *dirs], cwd=ROOT, capture_output=True, text=True,
                           timeout=180, stdin=subprocess.DEVNULL,
                           env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert first.returncode == 0, first.stderr[-3000:]
    files = sorted((tmp_path / "m" / "a3c").iterdir())
    before = {p: p.read_bytes() for p in files}
    command = [sys.executable, "-m", "a2c_tf1.a3c", "--env", "CartPole-v1", "--processes", "1", "--lr", "2e-3",
               "--num-timesteps", "5000", *dirs]
    code, out = run_launcher_command(command)
    assert code == 1, out
    assert "worker 0 cannot resume from the checkpoint" in out and "restarting" not in out, out
    assert "other settings (--lr 0.001 -> 0.002)" in (tmp_path / "l" / "processes" / "worker-0.log").read_text()
    assert {p: p.read_bytes() for p in files} == before


def run_role(*args, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "a2c_tf1.a3c", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("python -m a2c_tf1.a3c: error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.mark.parametrize("args, fragment", [
    (["--processes", 2, "--env", "BreakoutNoFrameskip-v4", "--policy", "mlp"], "gives images"),
    (["--processes", 2, "--env", "NoSuchGame-v9"], "unknown environment"),
    (["--processes", 2, "--env", "CartPole-v1", "--gamma", 2], "--gamma"),
    (["--processes", 2, "--preset", "a3c-breakout", "--action-set", "1,2,99"], "names actions [99]"),
    (["--processes", 2, "--env", "CartPole-v1", "--cluster-spec", "SPEC"], "--processes starts its own roles"),
    (["--job", "ps", "--task", 0, "--env", "CartPole-v1", "--cluster-spec", "BAD"], "must hold"),
    (["--job", "ps", "--task", 0, "--env", "CartPole-v1", "--policy", "cnn", "--cluster-spec", "SPEC"], "needs image"),
    (["--job", "worker", "--task", 0, "--env", "CartPole-v1", "--lr", 0, "--cluster-spec", "SPEC"], "--lr"),
    (["--processes", 2, "--env", "CartPole-v1", "--threads", 2],
     "--threads does not go with --processes: each worker process runs one actor-learner thread"),
    (["--job", "worker", "--task", 0, "--env", "CartPole-v1", "--threads", 2, "--cluster-spec", "SPEC"],
     "--threads does not go with --job: a worker process runs one actor-learner thread"),
    (["--job", "ps", "--task", 0, "--env", "CartPole-v1", "--threads", 2, "--cluster-spec", "SPEC"],
     "--threads does not go with --job"),
])
def test_bad_cluster_settings_are_one_line_and_exit_4_before_any_file_or_process(tmp_path, args, fragment):
    from a2c_tf1.a3c.launch import free_ports

    spec, bad = tmp_path / "spec.json", tmp_path / "bad.json"
    ps, worker = free_ports(2)
    spec.write_text(json.dumps({"ps": [f"127.0.0.1:{ps}"], "worker": [f"127.0.0.1:{worker}"]}))
    bad.write_text(json.dumps({"ps": ["127.0.0.1:no"], "worker": [f"127.0.0.1:{worker}"]}))
    args = [{"SPEC": spec, "BAD": bad}.get(a, a) for a in args]
    proc = run_role(*args, "--log-dir", tmp_path / "l", "--models-dir", tmp_path / "m")
    assert proc.returncode == 4, proc.stderr
    assert fragment in one_error_line(proc)
    assert not (tmp_path / "l").exists() and not (tmp_path / "m").exists(), "nothing was made"


@pytest.mark.parametrize("job", ["ps", "worker"])
def test_a_role_whose_port_is_taken_exits_with_its_own_code(tmp_path, job):
    import socket

    from a2c_tf1.a3c.launch import EXIT_PORT_TAKEN, free_ports

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = f"127.0.0.1:{holder.getsockname()[1]}"
        other = f"127.0.0.1:{free_ports(1)[0]}"
        spec = tmp_path / "spec.json"
        spec.write_text(json.dumps({"ps": [taken if job == "ps" else other], "worker": [other if job == "ps" else taken]}))
        # The worker's port is tried before it waits for a parameter server (there is none here).
        proc = run_role("--env", "CartPole-v1", "--job", job, "--task", 0, "--cluster-spec", spec, "--cluster-wait", 60,
                        "--log-dir", tmp_path / "l", "--models-dir", tmp_path / "m")
    assert proc.returncode == EXIT_PORT_TAKEN, proc.stderr
    role = "parameter server" if job == "ps" else "worker"
    assert f"{role} 0 cannot listen at {taken}: the port is taken" in one_error_line(proc)
    assert not (tmp_path / "m").exists()


def run_launcher(launcher, timeout: float) -> int:
    """``launcher.run()`` in a thread, bounded: past ``timeout`` every child it started is killed by pid."""
    import threading

    result = []
    thread = threading.Thread(target=lambda: result.append(launcher.run()), name="launcher")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        for child in launcher.children:
            child.kill()
        launcher.stop.set()
        thread.join(60)
        raise AssertionError(f"the launcher did not finish within {timeout} s")
    return result[0]


def test_the_launcher_does_not_restart_roles_that_refuse_their_settings(tmp_path, monkeypatch):
    import io

    from a2c_tf1.a3c.launch import EXIT_BAD_SETTINGS, Launcher

    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    # Settings the command line would refuse up front, handed to the roles directly: every role refuses them.
    role_args = ["--env", "CartPole-v1", "--policy", "cnn", "--models-dir", str(tmp_path / "m"),
                 "--log-dir", str(tmp_path / "l")]
    launcher = Launcher(1, role_args, str(tmp_path / "l"), stream=out)
    assert run_launcher(launcher, 240) == EXIT_BAD_SETTINGS, out.getvalue()
    assert "refused the settings; stopping without restarts" in out.getvalue()
    assert "restarting" not in out.getvalue() and launcher.worker_restarts == launcher.cluster_restarts == 0
    assert all(c.poll() is not None for c in launcher.children)


def test_a_taken_port_moves_the_cluster_to_fresh_ports(tmp_path, monkeypatch):
    import io
    import socket

    from a2c_tf1.a3c import launch

    monkeypatch.chdir(ROOT)
    real_free_ports = launch.free_ports
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    picks = []

    def free_ports(count, host="127.0.0.1"):  # the first pick loses the race for worker 0's port
        ports = real_free_ports(count, host)
        picks.append(ports if picks else ports[:1] + [taken] + ports[2:])
        return picks[-1]

    monkeypatch.setattr(launch, "free_ports", free_ports)
    out = io.StringIO()
    role_args = ["--env", "CartPole-v1", "--num-timesteps", "400", "--log-interval", "100",
                 "--models-dir", str(tmp_path / "m"), "--log-dir", str(tmp_path / "l")]
    launcher = launch.Launcher(1, role_args, str(tmp_path / "l"), stream=out)
    try:
        code = run_launcher(launcher, 420)
    finally:
        holder.close()
    assert code == 0, out.getvalue()
    assert "worker 0's port was taken by another process; moving the cluster to fresh ports" in out.getvalue()
    assert len(picks) == 2 and taken not in picks[1] and launcher.port_moves == 1
    assert launcher.cluster_restarts == 0 and launcher.worker_restarts == 0
    assert saved_step(tmp_path / "m" / "a3c" / "CartPole-v1.save") >= 400
    assert all(c.poll() is not None for c in launcher.children)
