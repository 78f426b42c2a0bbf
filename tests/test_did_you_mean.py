"""Unknown names suggest the closest known ones ("did you mean") wherever a name is checked; none when none is near."""

from pathlib import Path

import pytest

from kae_zoo.cli import main
from kae_zoo.core.config import resolve_config
from kae_zoo.core.registry import Registry, UnknownNameError, did_you_mean
from kae_zoo.experiments.executors import check_executor
from kae_zoo.families import get_family
from kae_zoo.metrics import get_metric
from kae_zoo.paper.claims import get_claim
from kae_zoo.scoring import get_scorer
from kae_zoo.tasks import get_task

REFERENCE = Path(__file__).resolve().parents[1] / "results" / "reference" / "default.nc"


def test_did_you_mean_names_the_close_names_only():
    assert did_you_mean("koopmann", ["attractor", "koopman", "sae"]) == "did you mean 'koopman'? "
    # difflib's ratio 2 M / (len a + len b), M = matched characters: 'sea' ~ 'seal' 2*3/7 = 0.86, ~ 'sae' 2*2/6 = 0.67
    # (both >= 0.6): only the closest is named
    assert did_you_mean("sea", ["sae", "seal", "koopman"]) == "did you mean 'seal'? "
    # 'lsit' ~ 'list' and ~ 'site': 2*3/8 = 0.75 each, a tie: both named
    assert did_you_mean("lsit", ["list", "site", "run"]) in ("did you mean 'list' or 'site'? ",
                                                             "did you mean 'site' or 'list'? ")
    assert did_you_mean("zebra", ["attractor", "koopman", "sae"]) == ""


def test_a_registry_suggests_the_near_miss():
    registry: Registry[int] = Registry("thing")
    registry.register("alpha", 1)
    registry.register("beta", 2)
    with pytest.raises(UnknownNameError) as caught:
        registry.get("alpah")
    assert str(caught.value) == "unknown thing 'alpah'; did you mean 'alpha'? known thing names: alpha, beta"
    with pytest.raises(UnknownNameError) as caught:
        registry.get("zzz")
    assert str(caught.value) == "unknown thing 'zzz'; known thing names: alpha, beta"


@pytest.mark.parametrize(("lookup", "name", "suggested"), [
    (get_family, "koopmann", "koopman"),
    (get_task, "yinyng", "yinyang"),
    (get_metric, "acuracy", "accuracy"),
    (get_scorer, "sparsty", "sparsity"),
])
def test_registries_suggest_near_misses(lookup, name, suggested):
    with pytest.raises(UnknownNameError, match=rf"^unknown \w+ '{name}'; did you mean '{suggested}'\? known \w+ "):
        lookup(name)


@pytest.mark.parametrize("lookup", [get_family, get_task, get_metric, get_scorer])
def test_no_suggestion_without_a_near_miss(lookup):
    with pytest.raises(UnknownNameError) as caught:
        lookup("qqqqqq")
    assert "did you mean" not in str(caught.value) and "known" in str(caught.value)


@pytest.mark.parametrize(("check", "message"), [
    (lambda: get_claim("kae_mnist_acuracy"), "unknown claim 'kae_mnist_acuracy'; did you mean 'kae_mnist_accuracy'?"),
    (lambda: check_executor("proces", None, None), "unknown executor 'proces'; did you mean 'process'? valid: local"),
    (lambda: get_family("koopman").make_config("defualt"), "unknown preset 'defualt'; did you mean 'default'?"),
    (lambda: get_family("koopman").make_config("smoke", overrides={"n_epoch": 3}),
     "unknown KoopmanConfig field(s) n_epoch; did you mean 'n_epochs'"),
])
def test_other_names_suggest_near_misses(check, message):
    with pytest.raises(ValueError) as caught:
        check()
    assert message in str(caught.value)


def test_a_preset_with_no_near_miss_gets_the_list_alone():
    config_class = type(get_family("koopman").make_config("smoke"))
    with pytest.raises(ValueError) as caught:
        resolve_config(config_class, {}, {}, "zzz", None, None)
    assert str(caught.value) == "unknown preset 'zzz'; valid presets: smoke, default, paper"


@pytest.mark.parametrize(("arguments", "message"), [
    (["lst"], "invalid choice: 'lst'; did you mean 'list'? choose from"),
    (["run", "--preset", "defualt", "--out", "x.nc"], "invalid choice: 'defualt'; did you mean 'default'? choose"),
    (["sweep", "--named", "memorisation", "--out", "x.nc"], "did you mean 'memorization'?"),
    (["run", "--executor", "proces", "--out", "x.nc"], "did you mean 'process'?"),
    (["run", "--family", "koopmann", "--task", "yinyang", "--out", "x.nc"],
     "unknown family 'koopmann'; did you mean 'koopman'? known family names: attractor, dmd, edmd, koopman"),
    (["run", "--family", "koopman", "--task", "sparse_fn_smoth", "--out", "x.nc"],
     "did you mean 'sparse_fn_smooth'"),
    (["reproduce", "--claim", "data_free_prob", "--out", "repro"], "did you mean 'data_free_probe'?"),
    (["show", str(REFERENCE), "--metrics", "acuracy"], "--metrics 'acuracy' is not in this file; did you mean "
                                                        "'accuracy'?"),
    (["show", str(REFERENCE), "--task", "yinyan"], "did you mean 'yinyang'?"),
    (["compare", str(REFERENCE), str(REFERENCE), "--family", "koopmann"], "--family 'koopmann' is not compared in "
                                                                           "these files; did you mean 'koopman'?"),
])
def test_the_command_line_suggests_near_misses(tmp_path, monkeypatch, capsys, arguments, message):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(arguments)
    except SystemExit as exit:
        code = exit.code
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and message in error, error
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_without_a_near_miss(capsys):
    try:
        code = main(["run", "--preset", "zzz", "--out", "x.nc"])
    except SystemExit as exit:
        code = exit.code
    error = capsys.readouterr().err
    assert code == 2 and "invalid choice: 'zzz'; choose from 'smoke', 'default', 'paper'" in error
