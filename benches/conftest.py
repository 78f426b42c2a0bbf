"""pytest-benchmark suite configuration (`python -m pytest benches/`; outside the default test run).

One torch thread and one BLAS thread, the runner's default, as in tests/. The set-up shared with the asv suite
(`_harness`: each family built the way a run builds it, on a real mini-batch) lives in benches/asv/, put on
sys.path here. Base networks go to a private temporary cache unless KAE_ZOO_CACHE is set, as in tests/.
Throughput ratios that tests record with the `report_line` fixture are printed in the terminal summary.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent / "asv"))  # for `_harness`
torch.set_num_threads(1)
threadpool_limits(limits=1)

_REPORT = pytest.StashKey[list]()
_PRIVATE_CACHE = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REPORT] = []
    if "KAE_ZOO_CACHE" not in os.environ:
        config.stash[_PRIVATE_CACHE] = os.environ["KAE_ZOO_CACHE"] = tempfile.mkdtemp(prefix="kae_zoo_benches_")


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_PRIVATE_CACHE, None)
    if folder is not None:
        os.environ.pop("KAE_ZOO_CACHE", None)
        shutil.rmtree(folder, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    lines = config.stash.get(_REPORT, [])
    if lines:
        terminalreporter.section("throughput ratios (measured in this run)")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def report_line(request):
    """Append a line to the terminal summary's throughput-ratio section."""
    return request.config.stash[_REPORT].append


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
