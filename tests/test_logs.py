"""What kae-zoo writes on stderr: bars on a terminal only, a start and a finish line per cell otherwise, -q and -v
before or after the subcommand, Dask's own lines only with -v."""

import io
import logging

import pytest

from kae_zoo.cli import main
from kae_zoo.core import logs
from kae_zoo.experiments.runner import CellJob
from kae_zoo.store.results import CellResult

FAST = ["--preset", "smoke", "--set", "koopman.n_epochs=2"]
RUN = ["run", "--family", "koopman", "--task", "yinyang", "--seed", "0,1", *FAST]
RUN_SEED_0 = ["run", "--family", "koopman", "--task", "yinyang", "--seed", "0", *FAST]


def test_a_run_with_stderr_redirected_logs_lines_not_bars(tmp_path, capsys):
    out = str(tmp_path / "yy.nc")
    assert main([*RUN, "--out", out]) == 0  # pytest's captured stderr is no terminal
    captured = capsys.readouterr()
    assert "\r" not in captured.err and "it/s" not in captured.err  # no bar redraws
    lines = captured.err.splitlines()
    for number, seed in ((1, 0), (2, 1)):
        name = f"cell {number}/2 koopman/yinyang/{seed}"
        assert sum(line.endswith(f"INFO {name}: started") for line in lines) == 1
        assert sum(f"INFO {name}: ok in " in line and line.endswith(" s") for line in lines) == 1
    assert "family" in captured.out  # the table

    assert main(["-q", *RUN, "--out", out]) == 0  # -q before the subcommand: a rerun keeps both cells, and says so
    captured = capsys.readouterr()
    assert len(captured.err.splitlines()) == 1 and "INFO kept 2 finished cell(s)" in captured.err
    assert "family" in captured.out

    assert main([*RUN_SEED_0, "--out", out, "--overwrite", "-q"]) == 0  # trains; says only what it drops
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "INFO overwrite: replacing" in err and "dropping 1 cell(s)" in err

    assert main([*RUN_SEED_0, "--out", out, "--overwrite", "-v"]) == 0
    err = capsys.readouterr().err
    assert "DEBUG kae_zoo.training.trainer: koopman/yinyang/0: epoch 2/2, train loss" in err  # each check, with -v
    assert "INFO kae_zoo.experiments.runner: cell 1/1 koopman/yinyang/0: started" in err


def test_quiet_and_verbose_together_are_refused(capsys):
    assert main(["-q", "list", "-v"]) == 2
    assert "-q/--quiet and -v/--verbose contradict each other" in capsys.readouterr().err


@pytest.mark.parametrize("verbosity, package, dask", [(logs.QUIET, logging.WARNING, logging.WARNING),
                                                       (logs.NORMAL, logging.INFO, logging.WARNING),
                                                       (logs.VERBOSE, logging.DEBUG, logging.INFO)])
def test_levels_by_verbosity(verbosity, package, dask):
    logs.configure_logging(verbosity)
    assert logging.getLogger("kae_zoo").getEffectiveLevel() == package
    assert logging.getLogger(logs.NOTICES).getEffectiveLevel() == logging.INFO  # even with -q
    logging.getLogger("distributed").setLevel(logging.INFO)  # as importing distributed does
    logs.quiet_noisy_libraries()
    assert logging.getLogger("distributed.scheduler").getEffectiveLevel() == dask
    logs.configure_logging(verbosity)  # again: still one handler of ours
    assert sum(isinstance(handler, logs.BarSafeHandler) for handler in logging.getLogger().handlers) == 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream, drawn", [(Terminal(), True), (io.StringIO(), False)])
def test_bars_are_drawn_on_a_terminal_only(monkeypatch, stream, drawn):
    monkeypatch.setattr("sys.stderr", stream)
    assert list(logs.progress_bar(range(3), description="steps")) == [0, 1, 2]
    assert ("\r" in stream.getvalue() and "steps" in stream.getvalue()) is drawn
    assert list(logs.progress_bar(range(3), description="steps", enabled=False)) == [0, 1, 2]


def test_heartbeat_is_due_once_per_period(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: now[0])
    heartbeat = logs.Heartbeat(every_seconds=30)
    assert not heartbeat.due()
    now[0] = 129.9
    assert not heartbeat.due()
    now[0] = 130.0
    assert heartbeat.due() and not heartbeat.due()
    now[0] = 160.0
    assert heartbeat.due()


def test_a_loss_spike_is_a_warning_line_when_the_cell_finishes(monkeypatch, caplog):
    spiked = CellResult("koopman", "yinyang", 0, scalars={"loss_spike": 1.0, "loss_spike_ratio": 9.75e4,
                                                           "scored_epoch": 604.0})
    calm = CellResult("koopman", "yinyang", 1, scalars={"loss_spike": 0.0, "loss_spike_ratio": 1.2,
                                                        "scored_epoch": 990.0})
    for result in (spiked, calm):
        monkeypatch.setattr(CellJob, "_run", lambda self, result=result: result)
        with caplog.at_level(logging.INFO, logger="kae_zoo"):
            CellJob("koopman", "yinyang", result.seed, "default")()
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == ["koopman/yinyang/0: the validation loss rose to 9.75e+04 x its best after the scored epoch 604"]
