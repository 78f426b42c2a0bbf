"""`kae-zoo list` (the family x task grid, lines within 120 columns) and `kae-zoo check` (the conformance check from
the shell), with `check_family` on classes that have no registered name."""

import pytest

from kae_zoo import cli
from kae_zoo.cli import main
from kae_zoo.experiments.runner import check_pair
from kae_zoo.families import FAMILIES, get_family, list_families, register_family
from kae_zoo.families.koopman import KoopmanAE
from kae_zoo.tasks import get_task, list_tasks
from kae_zoo.testing import CHECKS, FamilyCheckError, check_family, family_checks


def grid(output: str) -> dict[tuple[str, str], str]:
    """(task, family) -> cell of the list's grid, every block of it (a header line of family names, indented past
    the task column, then a row per task)."""
    lines = output.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("which family runs on which task"))
    cells: dict[tuple[str, str], str] = {}
    header: list[str] = []
    for line in lines[start + 1:]:
        words = line.split()
        if line.startswith("    "):  # a block's header: the family names over the columns
            header = words
        elif header and len(words) == len(header) + 1:
            cells.update({(words[0], family): cell for family, cell in zip(header, words[1:])})
        else:
            break
    return cells


def test_list_shows_which_family_runs_on_which_task_within_120_columns(capsys):
    assert main(["list"]) == 0
    output = capsys.readouterr().out
    assert max(len(line) for line in output.splitlines()) <= 120
    cells = grid(output)
    # koopman trains on layer pairs of a base network; the sparse tasks have no base network (autoencode only)
    assert cells["sparse_vec", "koopman"] == "layer_pair" and cells["sparse_fn", "koopman"] == "layer_pair"
    assert cells["yinyang", "koopman"] == "yes" and cells["file:PATH.npz", "koopman"] == "yes"
    # attractor and sae autoencode: every task offers that view
    assert cells["sparse_vec", "attractor"] == "yes" and cells["mnist", "sae"] == "yes"
    assert "layer_pair = it trains on a base network's layer i -> layer j states, which the task lacks" in \
        output.replace("\n  ", " ")
    # long descriptions wrap under their column instead of overrunning
    assert "\n                       128-point grid, re-sampled at 32-512\n" in output


def test_the_grid_is_the_runners_rule(capsys):
    assert main(["list"]) == 0
    cells = grid(capsys.readouterr().out)
    for family in list_families():
        for task in list_tasks():
            try:
                check_pair(family, get_family(family), get_task(task))
                refused = False
            except ValueError:
                refused = True
            assert (cells[task, family] != "yes") == refused, (family, task)


def test_a_grid_wider_than_the_page_continues_in_blocks(monkeypatch):
    monkeypatch.setattr(cli, "LIST_WIDTH", 50)
    families = list_families()
    lines = cli.runs_where(families, [("yinyang", get_task("yinyang")), ("sparse_vec", get_task("sparse_vec"))])
    assert max(map(len, lines)) <= 50
    headers = [line.split() for line in lines if line.startswith(" " * 4)]  # rows and the legend start with a word
    assert len(headers) > 1 and [family for header in headers for family in header] == families


def test_described_wraps_texts_under_their_column():
    lines = cli.described([("a", "word " * 40), ("bbb", "short")])
    assert lines[0].startswith("  a    word") and all(len(line) <= 120 for line in lines)
    assert all(line.startswith(" " * 7 + "word") for line in lines[1:-1]) and lines[-1] == "  bbb  short"


@pytest.mark.parametrize("name", list_families())
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_check_passes_every_builtin_family(capsys, name):
    assert main(["check", name]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"ok   {check}" for check in CHECKS] + [f"{name}: all {len(CHECKS)} checks passed"]


class FrozenEncoder(KoopmanAE):
    """Detaches its latents: no gradient reaches the encoder."""

    def encode(self, x):
        return super().encode(x).detach()


class NoConstructor(KoopmanAE):
    """Fails to build: every check that needs a model is skipped."""

    def __init__(self, config, spec):
        raise TypeError("no model today")


@pytest.fixture
def registered_broken():
    """FrozenEncoder registered as `frozen_encoder` for the test (removed afterwards)."""
    register_family("frozen_encoder")(FrozenEncoder)
    yield "frozen_encoder"
    FAMILIES.unregister("frozen_encoder")
    del FrozenEncoder.name


def test_check_prints_a_failing_check_and_exits_1(capsys, registered_broken):
    assert main(["check", registered_broken]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[6].startswith("FAIL gradients: parameter encoder.") and "gets no (or a zero) gradient" in lines[6]
    assert [line.split()[0] for line in lines[:-1]] == ["ok"] * 6 + ["FAIL"] + ["ok"] * 3
    assert lines[-1] == "frozen_encoder: 1 of 10 checks failed (gradients)"


def test_checks_that_need_a_failed_one_are_skipped():
    results = {result.check: result for result in family_checks(NoConstructor)}
    assert results["class"].ok and results["config"].ok
    assert results["shapes"].status == "FAIL" and results["shapes"].detail == "TypeError: no model today"
    for check in ("trajectory", "divergence", "capabilities", "loss", "gradients", "determinism", "checkpoint"):
        assert results[check].status == "skip", check
    with pytest.raises(FamilyCheckError, match="^shapes: TypeError: no model today$"):
        check_family(NoConstructor)


@pytest.mark.parametrize(("arguments", "message"), [
    (["check", "koopmann"], "unknown family 'koopmann'; did you mean 'koopman'?"),
    (["check", "koopman", "--set", "koopman.n_epoch=2"], "unknown KoopmanConfig field(s) n_epoch"),
    (["check", "koopman", "--set", "koopman.n_epochs=0"], "n_epochs must be > 0"),
    (["check", "koopman", "--set", "sae.n_epochs=2"], "--set names family 'sae', but the family checked is 'koopman'"),
    (["check", "koopman", "--set", "n_epochs=2"], "FAMILY.FIELD=VALUE"),
])
def test_check_refuses_bad_input_with_exit_2(capsys, arguments, message):
    assert main(arguments) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and message in captured.err


def test_check_at_other_settings(capsys):
    assert main(["check", "koopman", "--set", "koopman.activation=tanh", "--set", "koopman.hidden_dims=[5,7]"]) == 0
    assert capsys.readouterr().out.endswith("koopman: all 10 checks passed\n")


class Unregistered(KoopmanAE):
    """A subclass imported, never registered: it inherits KoopmanAE's name but is not the registry's koopman."""


class Bare(KoopmanAE):
    """A class with no name of its own or inherited (as a plugin class is before its entry point is loaded)."""


def test_check_family_takes_a_class_without_a_registered_name():
    check_family(Unregistered)  # the checkpoint round-trip registers it as check-Unregistered for the check only
    assert "check-Unregistered" not in FAMILIES and "name" not in Unregistered.__dict__
    assert Unregistered.name == "koopman" and get_family("koopman") is KoopmanAE
    del_name = KoopmanAE.name
    try:
        del KoopmanAE.name  # as a plugin class written from the README: no `name` anywhere
        assert not hasattr(Bare, "name")
        check_family(Bare)
        assert not hasattr(Bare, "name") and "check-Bare" not in FAMILIES
    finally:
        KoopmanAE.name = del_name
