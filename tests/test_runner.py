"""The runner: thread count fixed per run and recorded, failures isolated per cell."""

import pytest
import torch

from kae_zoo.results import read_results
from kae_zoo.runner import RunSpec, run_matrix, torch_threads

FAST = {"koopman": {"n_epochs": 2}}


def test_torch_threads_restores_the_previous_count():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("threads", [0, -2, 1.5, True])
def test_bad_thread_counts_are_refused(threads):
    spec = RunSpec(("koopman",), ("yinyang",), (0,), preset="smoke", device="cpu", threads=threads)
    with pytest.raises(ValueError, match="threads .* must be a positive integer"):
        spec.validate()


def test_a_task_that_cannot_load_fails_its_cells_and_the_rest_finish(tmp_path, monkeypatch):
    monkeypatch.setenv("KAE_ZOO_DATA", str(tmp_path / "empty"))  # no MNIST files there
    spec = RunSpec(("koopman",), ("mnist", "yinyang"), (0,), preset="smoke", device="cpu", threads=1, overrides=FAST)
    out = tmp_path / "r.nc"
    results = run_matrix(spec, out=out, progress=False)
    status = {cell.task: (cell.status, cell.error) for cell in results}
    assert status["yinyang"] == ("ok", "")
    assert status["mnist"][0] == "failed" and "FileNotFoundError" in status["mnist"][1]
    dataset = read_results(out)
    assert dataset.attrs["torch_num_threads"] == 1
    assert str(dataset["status"].sel(family="koopman", task="mnist", seed=0).item()) == "failed"
