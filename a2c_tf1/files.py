"""Atomic file output: a reader sees the old complete file or the new complete file, never a mix."""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Callable, Iterator


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed over ``path``.

    The temp file keeps ``path``'s extension (encoders choose the format from it). On any exception,
    including Ctrl-C, the temp file is removed and ``path`` is left as it was.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    extension = os.path.splitext(path)[1]
    fd, tmp_path = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp" + extension, dir=folder)
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


def move_aside(path: str) -> str:
    """Rename ``path`` to ``<stem>.old-<n><ext>`` with the smallest free ``n``; returns the new path.

    Never replaces a file: the new name is claimed with a hard link, which fails if the name exists.
    """
    stem, extension = os.path.splitext(path)
    n = 1
    while True:
        target = f"{stem}.old-{n}{extension}"
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
