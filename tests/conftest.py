"""Test configuration: a private base-network cache per session and the shared MNIST data when present."""

import os
import sys
from pathlib import Path

import pytest
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))  # for `helpers`
# One torch thread and one BLAS thread, the runner's default: the fastest for these small models, and the same
# numbers everywhere (a cell called directly then matches one run inside kae_zoo.core.determinism.torch_threads(1)).
torch.set_num_threads(1)
threadpool_limits(limits=1)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Base networks trained by tests go to a temporary cache unless KAE_ZOO_CACHE is set (CI sets it)."""
    if "KAE_ZOO_CACHE" not in os.environ:
        os.environ["KAE_ZOO_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield


@pytest.fixture
def shared_mnist():
    """Skip (with the reason) when the MNIST test files are not at $KAE_ZOO_DATA/mnist."""
    from kae_zoo.tasks.mnist_files import available_splits, mnist_root

    if "test" not in available_splits(mnist_root()):
        pytest.skip(f"MNIST test files not found under {mnist_root()}; set KAE_ZOO_DATA=../shared/data")
    return mnist_root()
