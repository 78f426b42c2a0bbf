"""The one cache of derived data (trained base networks): in the user's cache folder, shared by every working
directory and by the local worker processes of a run.

The folder is `$KAE_ZOO_CACHE` when set, else platformdirs' user cache folder for "kae-zoo" (~/.cache/kae-zoo on
Linux). An entry is one file named KIND_NAME_KEY.SUFFIX (KEY: a hash of everything that determines the content)
plus a JSON sidecar KIND_NAME_KEY.json saying what it is, for `kae-zoo cache list`. Entries are written atomically
(a temporary file renamed over the target), so a reader never sees half a file; `building(path)` makes a second
process that wants the same entry wait for the first one's instead of computing it again. Everything here can be
deleted at any time (`kae-zoo cache clear`): it is computed again when needed. Downloaded data (MNIST,
$KAE_ZOO_DATA) is not cache and lives elsewhere.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from platformdirs import user_cache_dir

from .atomic import atomic_path

CACHE_ENVIRONMENT_VARIABLE = "KAE_ZOO_CACHE"
ABOUT_SUFFIX = ".json"


def cache_root() -> Path:
    """The cache folder: `$KAE_ZOO_CACHE`, else the user's cache folder for kae-zoo (platformdirs)."""
    configured = os.environ.get(CACHE_ENVIRONMENT_VARIABLE)
    return Path(configured) if configured else Path(user_cache_dir("kae-zoo", appauthor=False))


def entry_path(kind: str, name: str, key: str, suffix: str) -> Path:
    """The cache file of an entry: KIND_NAME_KEY.SUFFIX in `cache_root()` (NAME made file-safe and cut to its last
    40 characters: a file task's name holds a path)."""
    safe_name = re.sub(r"[^A-Za-z0-9_-]+", "_", name)[-40:]
    return cache_root() / f"{kind}_{safe_name}_{key}{suffix}"


def about_path(path: Path) -> Path:
    """The JSON sidecar that says what the cache file `path` holds."""
    return path.with_suffix(ABOUT_SUFFIX)


def write_entry(path: Path, save: Callable[[Path], None], about: Mapping[str, Any]) -> None:
    """Write a cache entry: `save(temporary_path)` writes the content, renamed to `path` when complete; then the
    sidecar with `about` (JSON-serialisable: what the entry is), also atomically."""
    with atomic_path(path) as temporary:
        save(temporary)
    with atomic_path(about_path(path)) as temporary:
        temporary.write_text(json.dumps(dict(about), sort_keys=True, indent=1))


@contextmanager
def building(path: Path) -> Iterator[None]:
    """Hold the build lock of cache entry `path` (a blocking `flock` on a hidden .NAME.lock file beside it) while
    checking for it and computing it: a second process wanting the same entry waits, then finds it written. The
    kernel releases the lock when a process dies, so a crash leaves no stale lock; the empty lock file stays."""
    lock = path.parent / f".{path.name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class CacheEntry:
    """One cache file, with its size in bytes (sidecar included), modification time and what it holds."""

    path: Path
    n_bytes: int
    modified: float  # seconds since the epoch
    about: Mapping[str, Any] = field(default_factory=dict)  # the sidecar's content; empty when it is missing

    def description(self) -> str:
        """What the entry is, in a few words (from its sidecar)."""
        if not self.about:
            return "unknown (no description beside it)"
        what = self.about.get("what", "cache entry")
        details = [f"{name} {self.about[name]}" for name in ("task", "preset", "seed", "threads") if name in self.about]
        return f"{what}: {', '.join(details)}" if details else what


def list_cache(*, match: str | None = None) -> list[CacheEntry]:
    """The cache's entries, sorted by file name; `match` keeps the files whose name matches that glob pattern."""
    root = cache_root()
    if not root.is_dir():
        return []
    entries = []
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or not path.is_file() or path.suffix == ABOUT_SUFFIX:
            continue
        if match is not None and not fnmatch.fnmatch(path.name, match):
            continue
        sidecar = about_path(path)
        try:
            about = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
        except (OSError, ValueError):
            about = {}
        stat = path.stat()
        n_bytes = stat.st_size + (sidecar.stat().st_size if sidecar.is_file() else 0)
        entries.append(CacheEntry(path, n_bytes, stat.st_mtime, about))
    return entries


def clear_cache(*, match: str | None = None) -> list[CacheEntry]:
    """Delete the cache's entries (those whose file name matches the glob `match`, when given) with their sidecars,
    and, when clearing everything, the leftovers of interrupted writes (hidden temporary and lock files). Returns
    the entries removed."""
    removed = list_cache(match=match)
    for entry in removed:
        entry.path.unlink(missing_ok=True)
        about_path(entry.path).unlink(missing_ok=True)
    root = cache_root()
    if match is None and root.is_dir():
        for path in root.iterdir():
            if path.name.startswith(".") and path.suffix in (".tmp", ".lock") and path.is_file():
                path.unlink(missing_ok=True)
    return removed


def format_size(n_bytes: int) -> str:
    """1234567 -> '1.2 MB' (decimal units)."""
    size, unit = float(n_bytes), "B"
    for larger in ("kB", "MB", "GB"):
        if size < 1000:
            break
        size, unit = size / 1000, larger
    return f"{n_bytes} B" if unit == "B" else f"{size:.1f} {unit}"


def format_listing(entries: list[CacheEntry]) -> str:
    """`kae-zoo cache list`: the folder, a line per entry (file, size, modified, what it is) and the total."""
    lines = [f"cache: {cache_root()} (set {CACHE_ENVIRONMENT_VARIABLE} to move it)"]
    width = max((len(entry.path.name) for entry in entries), default=0)
    for entry in entries:
        modified = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.modified))
        lines.append(f"  {entry.path.name:<{width}}  {format_size(entry.n_bytes):>8}  {modified}  "
                     f"{entry.description()}")
    lines.append(f"total: {len(entries)} file(s), {format_size(sum(entry.n_bytes for entry in entries))}")
    return "\n".join(lines)
