"""kae_zoo.core.allocator: freed tensor memory is reused instead of being faulted in again on every allocation."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

from kae_zoo.core import allocator

# 20 FISTA iterations of a conv SAE at batch 512 (codes: 512 x 12 x 128 floats = 768 pages), after 20 to warm up.
# With glibc's default thresholds this VM faulted in ~900 pages per iteration (18473 in all); with freed memory
# kept, none.
FISTA_LOOP = textwrap.dedent("""
    import resource, sys, torch
    from kae_zoo.core.allocator import reuse_freed_memory
    from kae_zoo.families.conv_coding import spectral_ista
    applied = reuse_freed_memory()
    torch.set_num_threads(1)
    signals, spectra = torch.ones(512, 1, 128), torch.ones(65, 12, dtype=torch.complex64)
    with torch.no_grad():
        for _ in range(2):  # the first run warms up, the second is counted
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            spectral_ista(signals, spectra, n_steps=20, step_size=0.01, threshold=0.1, accelerated=True)
    print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")
CODE_PAGES = 512 * 12 * 128 * 4 // 4096


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
@pytest.mark.parametrize("trim_threshold", [None, "65536"], ids=["default", "dask-worker"])
def test_freed_memory_is_reused_on_glibc(trim_threshold):
    # a fresh process: the setting is global to it and cannot be undone. Dask's workers start with
    # MALLOC_TRIM_THRESHOLD_=65536 (80855 page faults in these 20 iterations without the setting): it is overridden
    environment = {key: value for key, value in os.environ.items() if key != "MALLOC_TRIM_THRESHOLD_"}
    if trim_threshold is not None:
        environment["MALLOC_TRIM_THRESHOLD_"] = trim_threshold
    applied, faults = subprocess.run([sys.executable, "-c", FISTA_LOOP], capture_output=True, text=True,
                                     check=True, env=environment).stdout.split()
    assert applied == "True"
    assert int(faults) < 20 * CODE_PAGES / 10, f"{faults} page faults in 20 iterations"


def test_other_c_libraries_are_left_alone(monkeypatch):
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert allocator.reuse_freed_memory.__wrapped__() is False
