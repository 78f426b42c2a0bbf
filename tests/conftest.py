"""Test configuration: a private cache per session (never the user's), logging restored after each test, and the
shared MNIST data when present."""

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))  # for `helpers`
# One torch thread and one BLAS thread, the runner's default: the fastest for these small models, and the same
# numbers everywhere (a cell called directly then matches one run inside kae_zoo.core.determinism.torch_threads).
torch.set_num_threads(1)
threadpool_limits(limits=1)

_SESSION_CACHE = pytest.StashKey[tuple]()


def pytest_configure(config: pytest.Config) -> None:
    """Point KAE_ZOO_CACHE (read by every cache access, inherited by subprocesses) at one cache for the whole
    session, shared by its tests (a base network is trained once per session): $KAE_ZOO_TEST_CACHE when set (to keep
    it between sessions), else a new temporary folder. A KAE_ZOO_CACHE of the shell is never written by tests."""
    kept = os.environ.get("KAE_ZOO_TEST_CACHE")
    folder = kept or tempfile.mkdtemp(prefix="kae_zoo_tests_cache_")
    config.stash[_SESSION_CACHE] = (os.environ.get("KAE_ZOO_CACHE"), None if kept else folder)
    os.environ["KAE_ZOO_CACHE"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    previous, temporary = config.stash.get(_SESSION_CACHE, (None, None))
    if previous is None:
        os.environ.pop("KAE_ZOO_CACHE", None)
    else:
        os.environ["KAE_ZOO_CACHE"] = previous
    if temporary is not None:
        shutil.rmtree(temporary, ignore_errors=True)


@pytest.fixture(autouse=True)
def _restore_logging():
    """`kae_zoo.cli.main` sets up logging (kae_zoo.core.logs.configure_logging: levels, a root handler); undo it after
    each test, so a -q in one test never hides another test's log lines."""
    from kae_zoo.core import logs

    names = ["", "kae_zoo", logs.NOTICES, *logs.NOISY_LIBRARIES]
    levels = {name: logging.getLogger(name).level for name in names}
    handlers, verbosity = list(logging.getLogger().handlers), logs._verbosity
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if handler not in handlers]:
        root.removeHandler(handler)
    logs._verbosity = verbosity


@pytest.fixture
def shared_mnist():
    """Skip (with the reason) when the MNIST test files are not at $KAE_ZOO_DATA/mnist."""
    from kae_zoo.tasks.mnist_files import available_splits, mnist_root

    if "test" not in available_splits(mnist_root()):
        pytest.skip(f"MNIST test files not found under {mnist_root()}; set KAE_ZOO_DATA=../shared/data")
    return mnist_root()
