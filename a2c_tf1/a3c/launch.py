"""``--processes N``: a parameter server and N worker processes on free loopback ports, supervised.

Each process runs this package's own per-role command (``--job ps|worker --task I --cluster-spec F``)
and logs to ``<log_dir>/processes/<role>-<I>.log``. The launcher restarts a worker that dies (it re-syncs
from the parameter server and goes on), restarts the whole cluster from the last checkpoint when the
parameter server dies (new ports: the old ones may still be held), and on Ctrl-C/SIGTERM stops every
process it started, by pid: the workers first (the chief saves), then the parameter server. A child
also gets SIGTERM if the launcher itself dies, so no process is left holding a port.

A role's exit code says whether starting it again can help: bad settings (:data:`EXIT_BAD_SETTINGS`)
and an unrestorable checkpoint (:data:`EXIT_CANNOT_RESUME`) stop the cluster; a taken port
(:data:`EXIT_PORT_TAKEN`: another process took it between :func:`free_ports` choosing it and the role
binding it) moves the whole cluster to fresh ports.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Optional

from a2c_tf1.a3c.config import WORKER_STOP_TIMEOUT_S
from a2c_tf1.files import atomic_write

POLL_S = 0.2
STOP_TIMEOUT_S = WORKER_STOP_TIMEOUT_S + 60.0  # a worker's own bound on stopping, then the chief's save
FINISH_GRACE_S = 60.0  # after the chief is done, the other workers see the global step and exit
MAX_WORKER_RESTARTS = 5  # per worker
MAX_CLUSTER_RESTARTS = 3
MAX_PORT_MOVES = 5  # a port taken again and again is not a race any more
EXIT_CANNOT_RESUME = 3  # a role's exit code when the checkpoint cannot be restored: restarting cannot help
EXIT_BAD_SETTINGS = 4  # the command line cannot work (unknown env, bad policy, bad cluster spec): nor can a restart
EXIT_PORT_TAKEN = 5  # the role's port is held by another process: fresh ports can help
_PR_SET_PDEATHSIG = 1


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports the OS reports free (all held open together, so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the launcher still stops its children on every orderly exit


class _Child:
    def __init__(self, role: str, task: int, command: list[str], log_path: str, env: dict):
        self.role, self.task, self.command, self.log_path, self.env = role, task, command, log_path, env
        self.restarts = 0
        self.proc: Optional[subprocess.Popen] = None
        self.finished = False  # exited 0: the run reached its global step

    @property
    def name(self) -> str:
        return f"{self.role} {self.task}"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            # A session of its own: a Ctrl-C in the terminal reaches the launcher only, which stops the
            # children in order.
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env, start_new_session=True, preexec_fn=_die_with_parent)

    def poll(self) -> Optional[int]:
        return None if self.proc is None else self.proc.poll()

    def signal(self, signum: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signum)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=max(timeout, 0.01))
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, timeout: float) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        self.signal(signal.SIGTERM)
        if not self.wait(timeout):
            self.kill()

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait(10.0)


class Launcher:
    """Runs and supervises one local cluster; :meth:`run` returns the process exit code.

    Args:
        processes: worker processes (one parameter server besides them).
        role_args: the command-line flags every role gets (the training settings).
        log_dir: ``processes/`` logs, ``cluster.json`` and ``launcher.json`` (pids, restarts) go here.
    """

    def __init__(self, processes: int, role_args: list[str], log_dir: str, stream=None):
        self.processes, self.role_args, self.log_dir = processes, list(role_args), log_dir
        self.stream = stream or sys.stdout
        self.process_dir = os.path.join(log_dir, "processes")
        self.spec_path = os.path.join(log_dir, "cluster.json")
        self.status_path = os.path.join(log_dir, "launcher.json")
        self.cluster_restarts = 0
        self.worker_restarts = 0
        self.port_moves = 0
        self.failure_code = 1  # the exit code of a run that ends "failed"
        self.children: list[_Child] = []
        self.stop = threading.Event()
        self.received: list[int] = []

    def say(self, text: str) -> None:
        print(f"[launcher] {text}", file=self.stream, flush=True)

    def _write_status(self) -> None:
        status = {"launcher_pid": os.getpid(), "cluster_spec": self.spec_path,
                  "cluster_restarts": self.cluster_restarts, "worker_restarts": self.worker_restarts,
                  "port_moves": self.port_moves,
                  "children": [{"role": c.role, "task": c.task, "pid": c.proc.pid if c.proc else None,
                                "restarts": c.restarts, "log": c.log_path} for c in self.children]}
        atomic_write(self.status_path, lambda f: f.write(json.dumps(status, indent=1).encode()))

    def _start_cluster(self) -> None:
        ports = free_ports(self.processes + 1)
        spec = {"ps": [f"127.0.0.1:{ports[0]}"], "worker": [f"127.0.0.1:{p}" for p in ports[1:]]}
        atomic_write(self.spec_path, lambda f: f.write(json.dumps(spec, indent=1).encode()))
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        head = [sys.executable, "-m", "a2c_tf1.a3c"] + self.role_args
        self.children = []
        for role, task in [("ps", 0)] + [("worker", i) for i in range(self.processes)]:
            command = head + ["--job", role, "--task", str(task), "--cluster-spec", self.spec_path]
            child = _Child(role, task, command, os.path.join(self.process_dir, f"{role}-{task}.log"), env)
            child.start()
            self.children.append(child)
        self._write_status()
        self.say(f"parameter server and {self.processes} workers on ports {', '.join(map(str, ports))}; "
                 f"logs in {self.process_dir}")

    def _stop_all(self, kill: bool = False) -> None:
        workers = [c for c in self.children if c.role == "worker"]
        for c in workers:
            c.signal(signal.SIGKILL if kill else signal.SIGTERM)
        deadline = time.time() + (10.0 if kill else STOP_TIMEOUT_S)
        for c in workers:
            if not c.wait(deadline - time.time()):
                c.kill()
        for c in self.children:
            if c.role == "ps":
                c.stop(10.0)

    def _hopeless(self, child: _Child, code: int) -> Optional[str]:
        """"failed" or "port-taken" for an exit code that a restart of the same child cannot mend."""
        if code == EXIT_PORT_TAKEN:
            self.say(f"{child.name}'s port was taken by another process; moving the cluster to fresh ports")
            return "port-taken"
        if code == EXIT_BAD_SETTINGS:
            self.say(f"{child.name} refused the settings; stopping without restarts (see {child.log_path})")
            self.failure_code = EXIT_BAD_SETTINGS
            return "failed"
        if code == EXIT_CANNOT_RESUME and child.role == "worker":
            self.say(f"{child.name} cannot resume from the checkpoint; stopping (see {child.log_path})")
            return "failed"
        return None

    def _supervise(self) -> str:
        """Until the run ends: "done", "stopped", "ps-died", "port-taken" or "failed"."""
        ps, workers = self.children[0], self.children[1:]
        finish_deadline = None
        while True:
            if self.stop.is_set():
                return "stopped"
            code = ps.poll()
            if code is not None:
                return self._hopeless(ps, code) or "ps-died"
            for child in workers:
                code = child.poll()
                if code is None or child.finished:
                    continue
                if code == 0:
                    child.finished = True
                    continue
                outcome = self._hopeless(child, code)
                if outcome:
                    return outcome
                if child.restarts >= MAX_WORKER_RESTARTS:
                    self.say(f"{child.name} exited with code {code} for the {child.restarts + 1}th time; "
                             f"giving up (see {child.log_path})")
                    return "failed"
                child.restarts += 1
                self.worker_restarts += 1
                self.say(f"{child.name} exited with code {code}; restarting it ({child.restarts}/{MAX_WORKER_RESTARTS})")
                child.start()
                self._write_status()
            if workers[0].finished:  # the chief saved the final checkpoint
                finish_deadline = finish_deadline or time.time() + FINISH_GRACE_S
                if all(c.finished for c in workers) or time.time() > finish_deadline:
                    return "done"
            time.sleep(POLL_S)

    def run(self) -> int:
        os.makedirs(self.process_dir, exist_ok=True)
        handlers = {}

        def on_signal(signum, _frame):
            self.received.append(signum)
            self.stop.set()

        if threading.current_thread() is threading.main_thread():
            handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while True:
                self._start_cluster()
                outcome = self._supervise()
                if outcome == "ps-died":
                    code = self.children[0].poll()
                    self._stop_all(kill=True)  # their state went with the parameter server
                    self.cluster_restarts += 1
                    if self.cluster_restarts > MAX_CLUSTER_RESTARTS:
                        self.say(f"the parameter server died {self.cluster_restarts} times; giving up")
                        self._write_status()
                        return 1
                    self.say(f"the parameter server exited with code {code}; restarting the cluster from the "
                             f"last checkpoint ({self.cluster_restarts}/{MAX_CLUSTER_RESTARTS})")
                    continue
                self._stop_all(kill=False)  # a chief that already trains saves on its way out
                if outcome == "port-taken":
                    self.port_moves += 1
                    if self.port_moves > MAX_PORT_MOVES:
                        self.say(f"ports were taken {self.port_moves} times; giving up")
                        self._write_status()
                        return EXIT_PORT_TAKEN
                    continue
                self._write_status()
                if outcome == "done":
                    self.say(f"done: {self.worker_restarts} worker restart(s), {self.cluster_restarts} cluster restart(s)")
                    return 0
                if outcome == "stopped":
                    self.say("stopped every process; run the same command to resume from the last checkpoint")
                    return 130 if self.received and self.received[0] == signal.SIGINT else 143
                return self.failure_code
        finally:
            for c in self.children:  # whatever happened above, nothing started here outlives the launcher
                if c.poll() is None:
                    c.kill()
            for s, h in handlers.items():
                signal.signal(s, h)
