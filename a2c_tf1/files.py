"""Atomic file output: a reader sees the old complete file or the new complete file, never a mix."""
from __future__ import annotations

import contextlib
import glob
import os
import re
import tempfile
from typing import Callable, Iterator


def _temp_prefix(path: str) -> str:
    return "." + os.path.basename(path) + "."


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temp_files(path: str) -> list[str]:
    """Delete temp files of ``path`` left by writers that no longer run (a ``kill -9`` mid-write).

    Temp files are named ``.<name>.<pid>.<random>.tmp<ext>``; one whose pid is alive belongs to a write
    still under way (another process, or this one) and is kept. Returns the paths removed.
    """
    folder = os.path.dirname(os.path.abspath(path))
    extension = os.path.splitext(path)[1]
    pattern = re.compile(re.escape(_temp_prefix(path)) + r"(\d+)\.[^.]+\.tmp" + re.escape(extension) + "$")
    removed = []
    for candidate in glob.glob(os.path.join(glob.escape(folder), glob.escape(_temp_prefix(path)) + "*.tmp*")):
        match = pattern.match(os.path.basename(candidate))
        if match and int(match.group(1)) != os.getpid() and not _process_alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(candidate)
                removed.append(candidate)
    return removed


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed over ``path``.

    The temp file, ``.<name>.<pid>.<random>.tmp<ext>``, keeps ``path``'s extension (encoders choose the
    format from it) and names its writer, so temp files that a killed writer left are removed at the next
    write of the same path. On any exception, including Ctrl-C, the temp file is removed and ``path`` is
    left as it was.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_stale_temp_files(path)
    extension = os.path.splitext(path)[1]
    fd, tmp_path = tempfile.mkstemp(prefix=f"{_temp_prefix(path)}{os.getpid()}.", suffix=".tmp" + extension,
                                    dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600 files; these are ordinary shared outputs
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write(path: str, write: Callable) -> None:
    """Atomically replace ``path`` with what ``write(fileobj)`` writes to a binary file object."""
    with atomic_output(path) as tmp_path:
        with open(tmp_path, "wb") as fileobj:
            write(fileobj)


def move_aside(path: str, label: str = "old") -> str:
    """Rename ``path`` to ``<stem>.<label>-<n><ext>`` with the smallest free ``n``; returns the new path.

    Never replaces a file: the new name is claimed with a hard link, which fails if the name exists.
    """
    stem, extension = os.path.splitext(path)
    n = 1
    while True:
        target = f"{stem}.{label}-{n}{extension}"
        try:
            os.link(path, target)
        except FileExistsError:
            n += 1
            continue
        except OSError:  # a file system without hard links: check, then rename
            if os.path.exists(target):
                n += 1
                continue
            os.rename(path, target)
            return target
        os.unlink(path)
        return target
