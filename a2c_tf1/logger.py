"""One Logger object, passed explicitly: baselines' stdout table, ``progress.csv`` and TensorBoard events."""
from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from typing import Optional, TextIO

from a2c_tf1.files import move_aside
from a2c_tf1.log_folder import set_aside_other_game, set_aside_rows_after

# TensorBoard groups; keys not listed go under "charts/".
TAG_GROUPS = {
    "policy_loss": "losses", "value_loss": "losses", "total_loss": "losses", "policy_entropy": "losses",
    "explained_variance": "diagnostics", "grad_norm": "diagnostics", "advantage_mean": "diagnostics",
    "advantage_std": "diagnostics", "value_target_mean": "diagnostics", "value_mean": "diagnostics",
    "learning_rate": "diagnostics",
}

# monitor.csv's column header: baselines' Monitor (r, l, t) plus the environment step the game ended at.
MONITOR_COLUMNS = "r,l,t,total_timesteps"


def monitor_columns(path: str) -> Optional[str]:
    """The column header of a monitor file (its first line not starting with '#'), or None."""
    with open(path) as f:
        for line in f:
            if not line.startswith("#"):
                return line.strip()
    return None


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:<8.3g}" if math.isfinite(value) and value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e4) else f"{value:.4g}"
    return str(value)


class Logger:
    """Writes one row of scalars per log interval to stdout, ``<log_dir>/progress.csv`` and TensorBoard,
    and every finished game to ``<log_dir>/monitor.csv``.

    Args:
        log_dir: folder for ``progress.csv``, ``monitor.csv`` and the ``tb/`` event files (created).
        stream: where the table goes (stdout by default).
        tensorboard: write TensorBoard event files.
        env_id: recorded in monitor.csv's header line.
        resume_step: the environment step the run continues from (its checkpoint's); rows logged after
            it by an earlier process are set aside (see :mod:`a2c_tf1.log_folder`). None keeps every row.

    An existing ``monitor.csv`` is appended to when its columns are ours; one with other columns (e.g.
    baselines' ``r,l,t``) is renamed ``monitor.old-<n>.csv`` (never overwriting) and a new one started.
    ``monitor.csv`` and ``progress.csv`` of another game are renamed ``*.other-<n>.csv``; a
    ``progress.csv`` with other columns than this run's rows is renamed ``progress.old-<n>.csv``.
    Each file set aside is reported in one line on ``stream``.
    """

    def __init__(self, log_dir: str, stream: Optional[TextIO] = None, tensorboard: bool = True, env_id: str = "",
                 resume_step: Optional[int] = None):
        self.log_dir = log_dir
        self.stream = stream or sys.stdout
        os.makedirs(log_dir, exist_ok=True)
        self.start_time = time.time()
        self.monitor_path = os.path.join(log_dir, "monitor.csv")
        self.csv_path = os.path.join(log_dir, "progress.csv")
        if env_id:
            for kept in set_aside_other_game(log_dir, env_id):
                self.stream.write(f"{log_dir} logged another game than {env_id}; kept its file as {kept}\n")
        if resume_step is not None:
            self._set_aside_rows_after(resume_step)
        fresh = not os.path.exists(self.monitor_path) or os.path.getsize(self.monitor_path) == 0
        if not fresh:
            columns = monitor_columns(self.monitor_path)
            if columns != MONITOR_COLUMNS:  # rows of two layouts in one file would misread as one
                kept = move_aside(self.monitor_path)
                self.stream.write(f"{self.monitor_path} has columns {columns or '(none)'}, not {MONITOR_COLUMNS}; "
                                  f"kept it as {kept} and started a new one\n")
                fresh = True
        self._monitor = open(self.monitor_path, "a", buffering=1)
        if fresh:  # baselines' Monitor layout, plus the environment step the game ended at
            self._monitor.write("#" + json.dumps({"t_start": self.start_time, "env_id": env_id}) + "\n")
            self._monitor.write(MONITOR_COLUMNS + "\n")
        self._fieldnames: Optional[list[str]] = None
        if os.path.exists(self.csv_path) and os.path.getsize(self.csv_path) > 0:
            with open(self.csv_path, newline="") as f:
                self._fieldnames = next(csv.reader(f), None)
        self._writer = None
        if tensorboard:
            import tensorflow as tf

            self._tf = tf
            self._writer = tf.compat.v1.summary.FileWriter(os.path.join(log_dir, "tb"))

    def _set_aside_rows_after(self, step: int) -> None:
        for path in (self.monitor_path, self.csv_path):
            kept = set_aside_rows_after(path, step)
            if kept:
                self.stream.write(f"{path} had rows logged after the checkpoint's step {step:,}; moved them to {kept}\n")

    def resume_at(self, step: int) -> None:
        """Set aside the rows logged after ``step``, for a run that learns its resume step only once the
        Logger exists (A3C restores inside its session). Call it before the first row is written."""
        self._monitor.close()  # the files are replaced; appending through the old handle would write nowhere
        self._set_aside_rows_after(step)
        self._monitor = open(self.monitor_path, "a", buffering=1)

    def write_episodes(self, episodes: list[dict], step: int) -> None:
        """Append the finished games among ``episodes`` (raw score r, length l, seconds t, step)."""
        now = time.time() - self.start_time
        for ep in episodes:
            if ep["kind"] == "game":
                self._monitor.write(f"{ep['r']:g},{ep['l']},{now:.3f},{step}\n")

    def write(self, row: dict, step: int) -> None:
        """Log ``row`` (name -> number) at environment step ``step``."""
        self._write_table(row)
        self._write_csv(row)
        if self._writer is not None:
            values = [self._tf.compat.v1.Summary.Value(tag=f"{TAG_GROUPS.get(k, 'charts')}/{k}", simple_value=float(v))
                      for k, v in row.items() if isinstance(v, (int, float)) and math.isfinite(float(v))]
            self._writer.add_summary(self._tf.compat.v1.Summary(value=values), step)
            self._writer.flush()

    def _write_table(self, row: dict) -> None:
        cells = [(str(k), _format(v)) for k, v in row.items()]
        kw = max(len(k) for k, _ in cells)
        vw = max(len(v) for _, v in cells)
        dashes = "-" * (kw + vw + 7)
        lines = [dashes] + [f"| {k:<{kw}} | {v:<{vw}} |" for k, v in cells] + [dashes]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()

    def _write_csv(self, row: dict) -> None:
        if self._fieldnames is not None and any(k not in self._fieldnames for k in row):
            # rows of two layouts in one file would misread as one (another policy or version logged here)
            kept = move_aside(self.csv_path)
            self.stream.write(f"{self.csv_path} has other columns than this run logs; kept it as {kept} "
                              f"and started a new one\n")
            self._fieldnames = None
        new_file = self._fieldnames is None
        if new_file:
            self._fieldnames = list(row)
        with open(self.csv_path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self._fieldnames, restval="")
            if new_file:
                writer.writeheader()
            writer.writerow(row)

    def close(self) -> None:
        self._monitor.close()
        if self._writer is not None:
            self._writer.close()


def duration_text(seconds: float) -> str:
    """``H:MM:SS`` with as many hours as it takes (a 10M-step run on a small machine can take days)."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}"


class ProgressLine:
    """A live ``\\r`` status line on a terminal; silent when the stream is not a TTY (CI, log files)."""

    def __init__(self, total: int, stream: Optional[TextIO] = None, label: str = "steps"):
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._start_time = time.time()
        self._start_count: Optional[int] = None
        self._last_draw = 0.0

    def update(self, count: int, extra: str = "") -> None:
        if not self.enabled:
            return
        now = time.time()
        if self._start_count is None:
            self._start_count, self._start_time = count, now
        if now - self._last_draw < 0.5 and count < self.total:
            return
        self._last_draw = now
        rate = (count - self._start_count) / max(now - self._start_time, 1e-9)
        eta = (self.total - count) / rate if rate > 0 else float("inf")
        eta_text = duration_text(eta) if math.isfinite(eta) else "--:--:--"
        line = f"{self.label} {count:,}/{self.total:,} ({100.0 * count / self.total:.1f}%)  {rate:,.0f}/s  ETA {eta_text}"
        self.stream.write("\r" + line + (f"  {extra}" if extra else "") + "\x1b[K")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
