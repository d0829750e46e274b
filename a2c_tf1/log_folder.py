"""Keeping a log folder to one run of one game, on one schedule, whatever stopped it.

A resumed run continues from its checkpoint's step, so rows that an earlier process wrote after that
checkpoint (it was killed with ``kill -9``, or the machine went down) describe updates that are about to
be redone. They are moved to ``<name>.undone-<n>.csv`` so ``progress.csv`` and ``monitor.csv`` never go
back in steps. Logs of another game in the same folder are moved to ``<name>.other-<n>.csv``. Nothing is
ever deleted; every rewrite is atomic.
"""
from __future__ import annotations

import csv
import io
import json
import os
from typing import Optional

from a2c_tf1.files import atomic_write, move_aside

STEP_COLUMN = "total_timesteps"


def _split_csv(path: str) -> tuple[list[str], Optional[str], list[str]]:
    """(comment lines starting with '#', the column line, the data lines), each with its newline."""
    with open(path, newline="") as f:
        lines = f.readlines()
    comments = []
    while lines and lines[0].startswith("#"):
        comments.append(lines.pop(0))
    header = lines.pop(0) if lines else None
    return comments, header, lines


def whole_row_cells(line: str, ncolumns: int) -> Optional[list[str]]:
    """The cells of one csv data line written whole, or None for a line a kill cut short or a live run is
    still writing (no newline at its end, or not ``ncolumns`` cells)."""
    if not line.endswith("\n"):
        return None
    cells = next(csv.reader(io.StringIO(line)), [])
    return cells if len(cells) == ncolumns else None


def _row_step(line: str, index: int, ncolumns: int) -> Optional[float]:
    """The step cell of one whole csv data line, or None (see :func:`whole_row_cells`)."""
    cells = whole_row_cells(line, ncolumns)
    try:
        return float(cells[index]) if cells is not None else None
    except ValueError:
        return None


def set_aside_rows_after(path: str, step: int) -> Optional[str]:
    """Move the rows of csv ``path`` logged after environment step ``step`` to ``<stem>.undone-<n>.csv``.

    A row counts as logged after ``step`` when its ``total_timesteps`` is greater, or when it is
    incomplete (a line cut short by a kill). Files without that column are left alone.

    Returns:
        the path the rows went to, or None when nothing was moved.
    """
    if not os.path.exists(path):
        return None
    comments, header, rows = _split_csv(path)
    columns = next(csv.reader(io.StringIO(header or "")), [])
    if STEP_COLUMN not in columns:
        return None
    index = columns.index(STEP_COLUMN)
    kept, undone = [], []
    for line in rows:
        row_step = _row_step(line, index, len(columns))
        (kept if row_step is not None and row_step <= step else undone).append(line)
    if not undone:
        return None
    stem, extension = os.path.splitext(path)
    undone_path = _free_name(f"{stem}.undone", extension)
    atomic_write(undone_path, lambda f: f.write("".join(comments + [header] + _terminated(undone)).encode()))
    atomic_write(path, lambda f: f.write("".join(comments + [header] + kept).encode()))
    return undone_path


def _terminated(lines: list[str]) -> list[str]:
    return [line if line.endswith("\n") else line + "\n" for line in lines]


def _free_name(stem: str, extension: str) -> str:
    n = 1
    while os.path.exists(f"{stem}-{n}{extension}"):
        n += 1
    return f"{stem}-{n}{extension}"


def logged_env_id(monitor_path: str) -> Optional[str]:
    """The env id in ``monitor.csv``'s ``#{...}`` header line, or None if it names none."""
    if not os.path.exists(monitor_path):
        return None
    with open(monitor_path) as f:
        first = f.readline()
    if not first.startswith("#"):
        return None
    try:
        return json.loads(first[1:]).get("env_id") or None
    except (ValueError, AttributeError):
        return None


def set_aside_other_game(log_dir: str, env_id: str) -> list[str]:
    """Move ``monitor.csv`` and ``progress.csv`` to ``*.other-<n>.csv`` when they log another game.

    Returns:
        the new paths (empty when the folder logs ``env_id`` or nothing yet).
    """
    logged = logged_env_id(os.path.join(log_dir, "monitor.csv"))
    if logged is None or logged == env_id:
        return []
    moved = []
    for name in ("monitor.csv", "progress.csv"):
        path = os.path.join(log_dir, name)
        if os.path.exists(path):
            moved.append(move_aside(path, label="other"))
    return moved
