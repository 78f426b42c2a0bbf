"""Start-up of the command line as ratios measured side by side in one run (outside the default test run:
`python -m pytest benches/test_startup.py`): `kae-zoo --help` within 1.5x of `import numpy`, `kae-zoo list` within
1.5x of `import torch`. Each timing is the median of fresh interpreters, alternated so that load on the machine
falls on both sides alike. The code timed is the asv suite's (benches/asv/startup.py)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import pytest
from startup import HELP, IMPORT_NUMPY, IMPORT_TORCH, LIST

ROUNDS = 5
TARGET_RATIO = 1.5


def median_seconds(codes: tuple[str, str], rounds: int = ROUNDS) -> tuple[float, float]:
    """Median wall time of `python -c CODE` for each of two codes, run alternately `rounds` times."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for code, record in zip(codes, times):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
            record.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


@pytest.mark.parametrize("command, baseline", [(HELP, IMPORT_NUMPY), (LIST, IMPORT_TORCH)], ids=["help", "list"])
def test_startup_within_target_of_its_baseline(command, baseline, report_line):
    seconds, baseline_seconds = median_seconds((command, baseline))
    ratio = seconds / baseline_seconds
    report_line(f"start-up {command!r}: {seconds:.3f} s, {ratio:.2f}x `{baseline}` ({baseline_seconds:.3f} s)")
    assert ratio <= TARGET_RATIO, f"{command!r} takes {ratio:.2f}x `{baseline}` (target <= {TARGET_RATIO}x)"
