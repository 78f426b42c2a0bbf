"""The README's plugin section, followed literally: its family file written to a folder, the class imported and
checked as imported, its generated test run, the package "installed" by its entry point and `kae-zoo check` run as
the README says; and its list of inherited training fields is TrainingConfig's."""

import ast
import dataclasses
import inspect
import re
import shlex
import sys
from pathlib import Path

import pytest

from kae_zoo.cli import main
from kae_zoo.core.config import TrainingConfig
from kae_zoo.core.surrogate import Surrogate
from kae_zoo.families import FAMILIES, register_family
from kae_zoo.skeleton import skeleton_files

README = (Path(__file__).parents[1] / "README.md").read_text()
SECTION = README[README.index("### A family\n"):README.index("### A task\n")]


def code_blocks(language: str) -> list[str]:
    """The section's fenced blocks in `language`, in order, un-indented (a block inside a list item is indented)."""
    blocks = re.findall(rf"^( *)```{language}\n(.*?)^\1```$", SECTION, flags=re.MULTILINE | re.DOTALL)
    return ["".join(line[len(indent):] for line in text.splitlines(keepends=True)) for indent, text in blocks]


def block(language: str, start: str) -> str:
    (found,) = [text for text in code_blocks(language) if text.startswith(start)]
    return found


@pytest.fixture
def plugin_folder(tmp_path, monkeypatch):
    """The README's family module written as my_flow.py in a folder on sys.path (as in kae-zoo-my-flow/)."""
    (tmp_path / "my_flow.py").write_text(block("python", '"""my_flow: a kae-zoo surrogate family'))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_flow", raising=False)
    yield tmp_path
    if "my_flow" in FAMILIES:
        FAMILIES.unregister("my_flow")
    sys.modules.pop("my_flow", None)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_readme_plugin_recipe_works_as_written(plugin_folder, capsys):
    # the check by hand, on the class as imported (no name, nothing registered)
    namespace: dict = {}
    exec(block("python", "from kae_zoo.testing import check_family\nfrom my_flow import MyFlow\n\ncheck_family("),
         namespace)
    my_flow_class = namespace["MyFlow"]
    assert not hasattr(my_flow_class, "name") and "my_flow" not in FAMILIES
    # the generated test file, its tests called as pytest would
    tests: dict = {}
    exec(block("python", '"""The my_flow family passes'), tests)
    for name in ("test_my_flow_conforms", "test_my_flow_conforms_with_other_settings"):
        tests[name]()
    # `pip install -e .`: kae-zoo registers the class its entry point names, under the entry point's name
    (entry_point,) = re.findall(r'^(\w+) = "(\w+):(\w+)"$', block("toml", "[build-system]"), flags=re.MULTILINE)
    family_name, module_name, class_name = entry_point
    register_family(family_name)(getattr(sys.modules[module_name], class_name))
    # the shell commands the README gives for it
    commands = [line.split("#")[0] for line in block("bash", "kae-zoo new-family my_flow").splitlines()
                if line.startswith("kae-zoo check")]
    assert len(commands) == 2
    for command in commands:
        capsys.readouterr()
        assert main(shlex.split(command)[1:]) == 0, command
        assert capsys.readouterr().out.splitlines()[:2] == ["ok   class", "ok   shapes"]
    # kae_zoo.get_family and create_surrogate as the README shows them
    installed: dict = {}
    exec(block("python", "import kae_zoo\n\nMyFlow = kae_zoo.get_family("), installed)
    assert installed["MyFlow"] is my_flow_class and isinstance(installed["model"], my_flow_class)


def test_the_readme_shows_the_generated_files():
    files = skeleton_files("my_flow", check_taken=False)
    assert block("python", '"""my_flow: a kae-zoo surrogate family') == files["my_flow.py"]
    assert block("python", '"""The my_flow family passes') == files["test_my_flow.py"]
    assert block("toml", "[build-system]") == files["pyproject.toml"]


def test_the_readme_lists_the_inherited_training_fields_and_defaults():
    rows = re.findall(r"^  \| `(\w+)` \| `([^`]*)` \| [^|]+ \|$", SECTION, flags=re.MULTILINE)
    fields = dataclasses.fields(TrainingConfig)
    assert [name for name, _ in rows] == [field.name for field in fields]
    for (name, default), field in zip(rows, fields):
        assert ast.literal_eval(default) == field.default and type(ast.literal_eval(default)) is type(field.default)


def test_the_readme_shows_the_trajectory_times_contract():
    shown = block("python", "def trajectory_times(").splitlines()
    source = [line.strip() for line in inspect.getsource(Surrogate.trajectory_times).splitlines()]
    assert shown[0] == source[0]  # the signature
    assert shown[-1].split("  #")[0].strip() == source[-1]  # the default
    assert str(inspect.signature(Surrogate.trajectory_times, eval_str=True)) == "(self, n_steps: int) -> list[float]"
