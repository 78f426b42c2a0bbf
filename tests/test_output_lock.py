"""Safe outputs: one writer per output (a second run on a locked result file or folder is refused, and a killed run
frees it); atomic files with the mode a plain open would give."""

import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from kae_zoo.cli import main
from kae_zoo.core.atomic import OutputLockedError, atomic_path, exclusive_output, lock_path
from kae_zoo.store.results import CellResult, write_results


def test_a_second_holder_is_refused_until_the_first_lets_go(tmp_path):
    out = tmp_path / "r.nc"
    with exclusive_output(out):
        with pytest.raises(OutputLockedError, match=r"r\.nc is being written by another kae-zoo run"):
            with exclusive_output(out):
                pass
    with exclusive_output(out):  # released
        pass
    assert lock_path(out) == tmp_path / ".r.nc.lock"
    assert not lock_path(out).exists() and not out.exists()  # nothing left behind, the output never created


def test_kill_9_releases_the_lock(tmp_path):
    out = tmp_path / "r.nc"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom kae_zoo.core.atomic import exclusive_output\n"
        f"with exclusive_output({str(out)!r}):\n    print('held', flush=True)\n    time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputLockedError):
            with exclusive_output(out):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert lock_path(out).exists()  # a killed holder leaves its (unlocked) lock file
    with exclusive_output(out):  # the kernel dropped the dead process's lock
        pass
    assert not lock_path(out).exists()


@pytest.mark.parametrize("command", [
    ["run", "--family", "koopman", "--task", "yinyang", "--preset", "smoke", "--device", "cpu"],
    ["sweep", "--family", "koopman", "--task", "yinyang", "--preset", "smoke", "--device", "cpu",
     "--axis", "koopman.n_epochs=1,2"],
])
def test_cli_refuses_a_locked_output_and_leaves_it_unchanged(tmp_path, capsys, command):
    out = tmp_path / "r.nc"
    write_results(out, [CellResult("koopman", "yinyang", 0, scalars={"accuracy": 0.5})], {}, "cpu")
    before, started = out.read_bytes(), time.perf_counter()
    with exclusive_output(out):
        code = main([*command, "--out", str(out)])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "being written by another kae-zoo run" in error and len(error.splitlines()) == 1
    assert out.read_bytes() == before and time.perf_counter() - started < 30  # refused before any training


def test_reproduce_refuses_a_locked_folder(tmp_path, capsys):
    with exclusive_output(tmp_path / "repro"):
        code = main(["reproduce", "--preset", "smoke", "--claim", "data_free_probe", "--out", str(tmp_path / "repro")])
    assert code == 2 and "being written by another kae-zoo run" in capsys.readouterr().err
    assert not (tmp_path / "repro").exists()


def test_atomic_files_get_the_mode_a_plain_open_gives(tmp_path):
    previous = os.umask(0o022)
    try:
        target = tmp_path / "r.nc"
        with atomic_path(target) as path:
            path.write_text("first")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644  # 0o666 less the umask, not mkstemp's 0o600
        target.chmod(0o640)
        with atomic_path(target) as path:
            path.write_text("second")
        assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_text() == "second"  # keeps its mode
        os.umask(0o077)
        with atomic_path(tmp_path / "private.nc") as path:
            path.write_text("x")
        assert stat.S_IMODE((tmp_path / "private.nc").stat().st_mode) == 0o600
    finally:
        os.umask(previous)
