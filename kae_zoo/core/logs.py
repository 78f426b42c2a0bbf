"""What kae-zoo says on stderr: the one logging set-up of the command line, and progress bars on terminals only.

A terminal gets tqdm bars (epochs, cells); a redirected stderr (a file, a pipe, a batch job's log) gets no bar
redraws, only short log lines: a cell's start and finish, and an occasional training line (`Heartbeat`). Library
code logs to `kae_zoo.*` loggers and draws bars with `progress_bar`; only the command line calls
`configure_logging` (a library user keeps their own logging set-up).

Verbosity: QUIET (-q) shows warnings and errors, plus the `NOTICES` logger (what a run kept, ran again or dropped
from its output file); NORMAL adds the INFO lines; VERBOSE (-v) adds kae-zoo's DEBUG lines and Dask's INFO lines
(kept at WARNING otherwise: a local cluster logs some twenty lines of its own life cycle).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, Iterable

from tqdm.auto import tqdm

QUIET, NORMAL, VERBOSE = -1, 0, 1
NOTICES = "kae_zoo.notices"  # what a run did with its output file: said even with --quiet
NOISY_LIBRARIES = ("distributed", "dask", "bokeh", "tornado")  # INFO only with --verbose
FORMAT = "%(asctime)s %(levelname)s %(message)s"
VERBOSE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_verbosity: int | None = None  # set by configure_logging; None: the embedding program's logging is left alone


class BarSafeHandler(logging.StreamHandler):
    """Writes log lines to the current sys.stderr through tqdm.write, so a line never cuts through a drawn bar."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)  # sys.stderr now, not at set-up (tests swap it)
        except Exception:  # logging must never raise
            self.handleError(record)


def configure_logging(verbosity: int = NORMAL) -> None:
    """Set up kae-zoo's logging for a command-line process (or a worker process of one); callable again, it replaces
    its own handler instead of adding a second."""
    global _verbosity
    if verbosity not in (QUIET, NORMAL, VERBOSE):
        raise ValueError(f"verbosity {verbosity!r} is not one of {QUIET} (quiet), {NORMAL}, {VERBOSE} (verbose)")
    _verbosity = verbosity
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if isinstance(handler, BarSafeHandler)]:
        root.removeHandler(handler)
    handler = BarSafeHandler()
    handler.setFormatter(logging.Formatter(VERBOSE_FORMAT if verbosity == VERBOSE else FORMAT, datefmt="%H:%M:%S"))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)  # other libraries: their warnings and errors
    level = {QUIET: logging.WARNING, NORMAL: logging.INFO, VERBOSE: logging.DEBUG}[verbosity]
    logging.getLogger("kae_zoo").setLevel(level)
    logging.getLogger(NOTICES).setLevel(logging.INFO)
    quiet_noisy_libraries()


def set_up_worker(verbosity: int | None) -> None:
    """Set up a pool's worker process: logging as its parent's (`verbosity` None: not configured there), and a thread
    lock for tqdm instead of the multiprocessing lock tqdm makes by default. A worker draws no bars, and a worker
    stopped mid-job (an interrupted run) cannot release that lock: Python's resource tracker warns of a leaked
    semaphore for each one."""
    if verbosity is not None:
        configure_logging(verbosity)
    tqdm.set_lock(threading.RLock())


def quiet_noisy_libraries() -> None:
    """Keep Dask's loggers at WARNING (INFO with --verbose) as configured; called again right after importing Dask,
    whose import sets its own levels. Does nothing when `configure_logging` was never called."""
    if _verbosity is None:
        return
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.INFO if _verbosity == VERBOSE else logging.WARNING)


def configured_verbosity() -> int | None:
    """The verbosity `configure_logging` set in this process, for worker processes to log alike; None when it was
    never called (kae-zoo used as a library)."""
    return _verbosity


def progress_bar(iterable: Iterable[Any] | None = None, *, description: str, enabled: bool = True,
                 **options: Any) -> tqdm:
    """A tqdm bar over `iterable`, drawn only when `enabled` and stderr is a terminal: a redirected stderr would
    otherwise fill with a redraw per step (`options` go to tqdm: total, leave, ...)."""
    return tqdm(iterable, desc=description, disable=None if enabled else True, **options)


class Heartbeat:
    """Says when a long loop's next INFO line is due: at most one per `every_seconds` (the first after that long),
    so a log file shows a long cell is alive without a line per step."""

    def __init__(self, every_seconds: float = 30.0) -> None:
        self.every_seconds = every_seconds
        self._last = time.monotonic()

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.every_seconds:
            return False
        self._last = now
        return True
