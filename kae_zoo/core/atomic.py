"""Safe output files: atomic replacement (write to a temporary file beside the target, then rename over it) and an
exclusive lock that keeps two runs from writing the same output at once."""

from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in `path`'s folder; on success rename it to `path`, on error delete it.

    Readers see either the old file or the complete new one, never a half-written file. The file gets the mode a
    plain `open(path, "w")` would give it (the old file's, else 0o666 less the umask), not mkstemp's private 0o600.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~current_umask())
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def current_umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class OutputLockedError(ValueError):
    """Another process holds the output's lock."""


def lock_path(path: str | Path) -> Path:
    """The lock file of an output file or folder: `.NAME.lock` beside it."""
    target = Path(path)
    return target.parent / f".{target.name}.lock"


@contextmanager
def exclusive_output(path: str | Path) -> Iterator[None]:
    """Hold the exclusive lock of output `path` (a result file or a folder) for the block.

    A second run on the same output fails at once with OutputLockedError instead of interleaving its writes with
    the first. The lock is an advisory `flock` on `lock_path(path)`, which the kernel releases when the process
    dies (kill -9 included), so a crash never leaves a stale lock (only an empty lock file, reused by the next
    run). On a normal exit the lock file is removed before the lock is released; a run that locked a file which
    was then removed (it raced with that exit) finds the path gone or replaced and is refused too.
    """
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    refused = OutputLockedError(f"{path} is being written by another kae-zoo run (lock {lock}); wait for it to "
                                f"finish or choose another output")
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise refused from None
        try:
            if not lock.exists() or lock.stat().st_ino != os.fstat(handle.fileno()).st_ino:
                raise refused
            try:
                yield
            finally:
                lock.unlink(missing_ok=True)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
