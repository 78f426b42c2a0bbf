"""The runner: thread count fixed per run and recorded, failures isolated per cell, killed runs resumed."""

import dataclasses
import re
import sys

import numpy as np
import psutil  # installed with dask[distributed]
import pytest
import torch

from kae_zoo.core.determinism import torch_threads
from kae_zoo.experiments.executors import LocalExecutor
from kae_zoo.experiments.runner import RunSpec, data_fingerprints, plan_resume, run_cell, run_matrix
from kae_zoo.families import get_family
from kae_zoo.reporting.compare import TIMING_METRICS
from kae_zoo.store.results import CellResult, read_results, write_results
from kae_zoo.tasks import DataUnavailableError
from kae_zoo.tasks.digits import DigitsTask

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
    def broken(self):
        raise OSError("the disk went away")

    monkeypatch.setattr(DigitsTask, "raw_splits", broken)  # present when checked, unreadable when loaded
    spec = RunSpec(("koopman",), ("digits", "yinyang"), (0,), preset="smoke", device="cpu", threads=1, overrides=FAST)
    out = tmp_path / "r.nc"
    results = run_matrix(spec, out=out, progress=False)
    status = {cell.task: (cell.status, cell.error) for cell in results}
    assert status["yinyang"] == ("ok", "")
    assert status["digits"] == ("failed", "OSError: the disk went away")
    dataset = read_results(out)
    assert dataset.attrs["torch_num_threads"] == 1
    assert str(dataset["status"].sel(family="koopman", task="digits", seed=0).item()) == "failed"
    assert dataset["data_fingerprint"].sel(task="digits").item() == ""  # no data, no fingerprint


def test_a_task_without_its_data_is_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("KAE_ZOO_DATA", str(tmp_path / "empty"))  # no MNIST files there
    spec = RunSpec(("koopman",), ("yinyang", "mnist"), (0,), preset="smoke", device="cpu", threads=1, overrides=FAST)
    with pytest.raises(DataUnavailableError, match="MNIST test split: missing"):
        run_matrix(spec, out=tmp_path / "r.nc", progress=False)
    assert list(tmp_path.iterdir()) == []


# wall-clock scores and creation times: the only values allowed to differ between runs
TIMINGS = (*TIMING_METRICS, "created")


class Killed(BaseException):
    """Stands for a kill: not an Exception, so no cell-level handler records it."""


def same_scores(first, second):
    """Two result Datasets hold the same cells and scores, timings aside."""
    assert set(first.data_vars) == set(second.data_vars)
    for name in first.data_vars:
        if name not in TIMINGS:
            a, b = first[name].values, second[name].values
            if a.dtype.kind in "fc":
                np.testing.assert_array_equal(a, b, err_msg=name)
            else:
                assert (a == b).all(), name


def test_an_exploding_operator_with_a_finite_loss_is_a_failed_cell_with_its_reason(tmp_path, capsys):
    """lr 10 blows K up to ||K||_2 ~ 6e9 in the first epoch while every loss term is still finite: without the
    operator-norm check this cell finished "ok" with a state error of 3e11."""
    from kae_zoo.cli import main

    out = tmp_path / "r.nc"
    code = main(["run", "--family", "koopman", "--task", "yinyang", "--preset", "smoke", "--device", "cpu", "--quiet",
                 "--set", "koopman.learning_rate=10", "--set", 'koopman.lr_schedule="constant"', "--out", str(out)])
    assert code == 3
    dataset = read_results(out)
    assert str(dataset["status"].item()) == "failed"
    assert re.fullmatch(r"DivergenceError: operator norm \|\|K\|\|_2 = \S+ exceeds max_operator_norm 1000 at epoch 1",
                        str(dataset["error"].item()))


def test_a_killed_run_resumes_and_ends_as_an_uninterrupted_run(tmp_path, monkeypatch):
    import kae_zoo.experiments.runner as runner

    spec = RunSpec(("koopman",), ("digits",), (0, 1), preset="smoke", device="cpu", threads=1, overrides=FAST)
    uninterrupted = read_results_after(run_matrix, spec, tmp_path / "whole.nc")
    real, calls, kill = runner.run_cell, [], [True]

    def killed_at_second_cell(*args, **kwargs):
        calls.append(args[:3])
        if len(calls) == 2 and kill and kill.pop():
            raise Killed  # once: nothing after the first finished cell runs
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_cell", killed_at_second_cell)
    with pytest.raises(Killed):
        run_matrix(spec, out=tmp_path / "resumed.nc", progress=False)
    partial = read_results(tmp_path / "resumed.nc")  # the first cell was saved when it finished
    assert list(partial["seed"].values) == [0] and str(partial["status"].item()) == "ok"
    calls.clear()
    resumed = read_results_after(run_matrix, spec, tmp_path / "resumed.nc")
    assert calls == [("koopman", "digits", 1)]  # only the missing cell ran again
    same_scores(resumed, uninterrupted)
    calls.clear()
    run_matrix(spec, out=tmp_path / "resumed.nc", progress=False, overwrite=True)
    assert len(calls) == 2


def read_results_after(run, spec, out):
    run(spec, out=out, progress=False)
    return read_results(out)


def test_run_cell_runs_on_one_thread_by_default_whatever_the_caller_set():
    """A cell called from Python gets a run's default thread count (CPU numbers depend on it) and records it; the
    caller's count is restored."""
    with torch_threads(2):
        cell = run_cell("koopman", "digits", 0, preset="smoke", device="cpu", overrides=FAST["koopman"],
                        progress=False)
        assert torch.get_num_threads() == 2
    two = run_cell("koopman", "digits", 0, preset="smoke", device="cpu", overrides=FAST["koopman"], progress=False,
                   threads=2)
    assert cell.status == two.status == "ok"
    assert cell.provenance["threads"] == "1" and two.provenance["threads"] == "2"

    # where the cell's time went: the task's data (loaded by the cell), the trainer's three phases, each scorer
    dims, coords, seconds = cell.curves["phase_seconds"]
    phases = dict(zip(coords["phase"], seconds))
    assert dims == ("phase",) and list(phases)[:4] == ["data", "steps", "validation", "watchers"]
    assert {"score/prediction", "score/training_record", "score/topology"} <= set(phases) and min(seconds) >= 0
    assert phases["data"] > 0 and phases["steps"] > 0 and phases["validation"] > 0
    assert phases["steps"] + phases["validation"] + phases["watchers"] == pytest.approx(cell.scalars["train_seconds"])
    assert sum(seconds) <= cell.scalars["cell_seconds"]


def test_cells_from_another_config_data_or_setting_or_a_failed_cell_are_run_again(tmp_path):
    spec = RunSpec(("koopman",), ("digits",), (0, 1), preset="smoke", device="cpu", threads=1, overrides=FAST)
    config = spec.to_dict()
    own = {"family_config": get_family("koopman").make_config("smoke", "digits", FAST["koopman"]).to_dict()}
    fingerprints = data_fingerprints(spec)
    provenance = {"data_fingerprint": fingerprints["koopman", "digits", 0], "preset": "smoke", "device": "cpu",
                  "threads": "1", "precision": "fp32", "compile": "false"}
    cells = [CellResult("koopman", "digits", 0, scalars={"accuracy": 0.9}, provenance=provenance, **own),
             CellResult("koopman", "digits", 1, status="failed", error="RuntimeError: x", provenance=provenance,
                        **own)]
    write_results(tmp_path / "r.nc", cells, config, "cpu")
    plan = plan_resume(spec, tmp_path / "r.nc", fingerprints)
    assert list(plan.kept) == [("koopman", "digits", 0)] and plan.stale == {("koopman", "digits", 1): "failed before"}
    assert plan.summary() == f"kept 1 finished cell(s) from {tmp_path / 'r.nc'}, running 1 again (failed before)"
    other = RunSpec(("koopman",), ("digits",), (0, 1), preset="smoke", device="cpu", threads=1,
                    overrides={"koopman": {"n_epochs": 3}})
    plan = plan_resume(other, tmp_path / "r.nc", fingerprints)
    assert plan.kept == {} and plan.stale[("koopman", "digits", 0)] == "the family config changed"
    bf16 = dataclasses.replace(spec, precision="bf16")
    plan = plan_resume(bf16, tmp_path / "r.nc", fingerprints)
    assert plan.stale[("koopman", "digits", 0)] == "precision fp32 -> bf16"
    changed = {key: "0" * 16 for key in fingerprints}  # the task's data changed since the cell ran
    assert plan_resume(spec, tmp_path / "r.nc", changed).stale[("koopman", "digits", 0)] == "the data changed"
    legacy = [CellResult("koopman", "digits", 0, scalars={"accuracy": 0.9}, **own)]  # no provenance on record
    write_results(tmp_path / "old.nc", legacy, config, "cpu")
    assert plan_resume(spec, tmp_path / "old.nc", fingerprints).stale == {
        ("koopman", "digits", 0): "no data fingerprint on record"}
    (tmp_path / "junk.nc").write_text("not netCDF")
    with pytest.raises(ValueError, match="pass overwrite"):
        plan_resume(spec, tmp_path / "junk.nc", fingerprints)


@pytest.fixture(scope="module")
def local_digits(tmp_path_factory):
    """Two families x two seeds on digits, run here one cell after another: (spec, result Dataset)."""
    spec = RunSpec(("koopman", "attractor"), ("digits",), (0, 1), preset="smoke", device="cpu", threads=1,
                   overrides=FAST)
    return spec, read_results_after(run_matrix, spec, tmp_path_factory.mktemp("local") / "local.nc")


@pytest.mark.parametrize("executor", ["dask", "process"])
def test_other_executors_give_the_local_numbers(local_digits, tmp_path, executor):
    spec, local = local_digits
    run_matrix(spec, out=tmp_path / f"{executor}.nc", progress=False, executor=executor, workers=2)
    elsewhere = read_results(tmp_path / f"{executor}.nc")
    assert list(elsewhere["family"].values) == ["koopman", "attractor"]  # the spec's order, not completion order
    same_scores(elsewhere, local)


def test_a_job_that_raises_is_a_failed_cell_and_the_run_goes_on(tmp_path):
    """A job that raises outside run_cell (e.g. its worker died) is recorded as failed with the reason."""

    class FirstJobDies(LocalExecutor):
        def run(self, jobs, *, progress=True, description="jobs"):
            for index, outcome in super().run(jobs[1:], progress=progress, description=description):
                yield index + 1, outcome
            yield 0, RuntimeError("worker died")

    spec = RunSpec(("koopman",), ("digits",), (0, 1), preset="smoke", device="cpu", threads=1, overrides=FAST)
    cells = run_matrix(spec, out=tmp_path / "r.nc", progress=False, executor=FirstJobDies())
    assert [cell.status for cell in cells] == ["failed", "ok"]
    assert cells[0].error == "RuntimeError: worker died" and cells[0].provenance["data_fingerprint"]
    assert list(read_results(tmp_path / "r.nc")["status"].values.ravel()) == ["failed", "ok"]


@pytest.mark.parametrize("executor, workers, scheduler, message", [
    ("slurm", None, None, "unknown executor 'slurm'; valid: local, process, dask"),
    ("local", 2, None, "--workers 2 needs --executor process or dask"),
    ("process", None, "tcp://localhost:8786", "--scheduler tcp://localhost:8786 needs --executor dask"),
    ("dask", 0, None, "workers must be a positive integer, got 0"),
    ("dask", 2, "tcp://localhost:8786", "not both"),
])
def test_bad_executor_settings(executor, workers, scheduler, message):
    from kae_zoo.experiments.executors import check_executor

    with pytest.raises(ValueError, match=message):
        check_executor(executor, workers, scheduler)


def test_kill_9_during_a_cli_run_then_the_same_command_again(tmp_path):
    """A real `kill -9` of `kae-zoo run` after its first finished cell: the file on disk is always readable, and
    the same command again keeps that cell, runs the rest, and ends with an uninterrupted run's scores."""
    import subprocess
    import sys
    import time

    matrix = tmp_path / "m.toml"
    matrix.write_text('preset = "smoke"\nseeds = [0, 1, 2]\n[[cells]]\nfamilies = ["sae"]\ntasks = ["sparse_vec"]\n'
                      '[overrides.sae]\nn_epochs = 60\n')
    command = [sys.executable, "-m", "kae_zoo.cli", "run", "--matrix", str(matrix), "--device", "cpu", "--quiet"]
    subprocess.run([*command, "--out", str(tmp_path / "whole.nc")], check=True, capture_output=True, timeout=600)
    out = tmp_path / "killed.nc"
    run = subprocess.Popen([*command, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while run.poll() is None and not out.exists():
            time.sleep(0.02)
        run.kill()  # SIGKILL: no clean-up runs
        run.wait()
    finally:
        run.kill()
    partial = read_results(out)  # never a broken file: written atomically after every cell
    kept = [int(seed) for seed in partial["seed"].values
            if str(partial["status"].sel(family="sae", task="sparse_vec", seed=seed).item()) == "ok"]
    if len(kept) == 3:
        pytest.skip("the run finished all its cells before the kill landed (a very fast machine)")
    again = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    resumed = read_results(out)
    same_scores(resumed, read_results(tmp_path / "whole.nc"))
    for seed in kept:  # the killed run's finished cells were kept, not trained again: their timings are unchanged
        cell = {"family": "sae", "task": "sparse_vec", "seed": seed}
        assert resumed["train_seconds"].sel(cell).item() == partial["train_seconds"].sel(cell).item()


def _running(process: psutil.Process) -> bool:
    """Whether a process still runs (a zombie, finished but not yet reaped by whoever inherited it, does not)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _worker_processes(pid: int) -> list[psutil.Process]:
    """The multiprocessing-spawned descendants of `pid` (pool workers; a Dask nanny and its worker)."""
    workers = []
    for process in psutil.Process(pid).children(recursive=True):
        try:
            if "spawn_main" in " ".join(process.cmdline()):
                workers.append(process)
        except psutil.NoSuchProcess:  # ended meanwhile (ZombieProcess is one too)
            continue
    return workers


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM ends a Windows process at once, with no handler")
@pytest.mark.parametrize("executor", ["process", "dask"])
def test_sigterm_stops_a_run_and_its_workers(tmp_path, executor):
    """`kill` (SIGTERM) of `kae-zoo run --executor process|dask` while its workers train: the command exits 143 with
    one line, its worker processes stop with it (Python's default left a process pool's waiting for work forever),
    no file is half-written, and no leaked-semaphore warning is printed."""
    import subprocess
    import time

    matrix = tmp_path / "m.toml"
    matrix.write_text('preset = "smoke"\nseeds = [0, 1]\n[[cells]]\nfamilies = ["sae"]\ntasks = ["sparse_vec"]\n'
                      '[overrides.sae]\nn_epochs = 100000\n')  # far longer than the test waits
    log = tmp_path / "stderr.txt"
    command = [sys.executable, "-m", "kae_zoo.cli", "run", "--matrix", str(matrix), "--device", "cpu",
               "--executor", executor, "--workers", "2", "--out", str(tmp_path / "r.nc")]
    with open(log, "w") as stderr:
        run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 300
        while log.read_text().count(": started") < 2 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert log.read_text().count(": started") == 2, log.read_text()
        workers = _worker_processes(run.pid)
        assert len(workers) >= 2
        run.terminate()  # SIGTERM
        assert run.wait(timeout=60) == 128 + 15
    finally:
        run.kill()
    deadline = time.monotonic() + 30
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_running, workers))
    errors = log.read_text()
    assert "kae-zoo: stopped by SIGTERM" in errors and "leaked semaphore" not in errors, errors
    assert sorted(path.name for path in tmp_path.iterdir()) == ["m.toml", "stderr.txt"]  # no cell finished
