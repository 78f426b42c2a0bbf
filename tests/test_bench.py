"""The cost table (`kae-zoo bench`, kae_zoo.experiments.bench and kae_zoo.reporting.bench): rows per family x
precision x mode, hand-counted parameters, missing values with reasons, failures recorded, the three formats and
the command line's one-line errors."""

import json
import math
from pathlib import Path

import pytest
import torch

from kae_zoo.cli import main
from kae_zoo.experiments.bench import NO_STEP, BenchTable, bench_case, one_line, run_bench
from kae_zoo.reporting.bench import (
    MARKDOWN_HEADER,
    bench_csv,
    bench_json,
    bench_markdown,
    table_from_csv,
    table_from_json,
)
from kae_zoo.tasks import get_task

FAST = {"batch_size": 8, "repeats": 1, "progress": False}


@pytest.fixture(scope="module")
def table() -> BenchTable:
    """sae_topk (a gradient family) and pca (fits itself), in every mode and precision: compiles for real."""
    return run_bench(["sae_topk", "pca"], precisions=("fp32", "bf16"), modes=("eager", "compiled"), **FAST)


def test_one_row_per_family_mode_and_precision(table):
    keys = [(row.family, row.mode, row.precision) for row in table.rows]
    assert sorted(keys) == sorted((family, mode, precision) for family in ("sae_topk", "pca")
                                  for mode in ("eager", "compiled") for precision in ("fp32", "bf16"))
    assert all(row.error == "" for row in table.rows), [row.error for row in table.rows]


def test_parameters_counted_by_hand(table):
    # sae_topk on sparse_vec (50 features) at the default preset has 200 latents: W_enc (50 x 200) + W (50 x 200)
    # + b_enc (200) + b_dec (50) = 10,000 + 10,000 + 200 + 50 = 20,250; its one buffer counts steps since each of
    # the 200 latents fired (AuxK's dead latents)
    for row in table.rows:
        if row.family == "sae_topk":
            assert (row.task, row.state_shape, row.parameters, row.buffers) == ("sparse_vec", "50", 20_250, 200)
            assert row.trained_by == "gradient"


def test_times_and_memory_positive_and_finite(table):
    for row in table.rows:
        measured = [row.forward_us, row.forward_peak_bytes]
        if row.trained_by == "gradient":
            measured += [row.step_us, row.step_peak_bytes]
        assert all(math.isfinite(value) and value > 0 for value in measured), row


def test_no_gradient_family_has_no_step_with_a_reason(table):
    rows = [row for row in table.rows if row.family == "pca"]
    assert rows and all(row.trained_by == "own fit" for row in rows)
    assert all(math.isnan(row.step_us) and math.isnan(row.step_peak_bytes) for row in rows)
    assert all(NO_STEP in row.note for row in rows)
    assert all(math.isfinite(row.forward_us) for row in rows)


def test_compile_failure_is_recorded_not_raised(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("no C++ compiler here\nsecond line")

    monkeypatch.setattr(torch, "compile", refuse)
    rows = run_bench(["sae_topk"], precisions=("fp32",), modes=("eager", "compiled"), **FAST).rows
    by_mode = {row.mode: row for row in rows}
    assert by_mode["eager"].error == "" and math.isfinite(by_mode["eager"].forward_us)
    assert by_mode["compiled"].error == "RuntimeError: no C++ compiler here"
    assert math.isnan(by_mode["compiled"].forward_us) and math.isnan(by_mode["compiled"].step_us)


def test_an_error_without_a_message_says_where_it_stopped():
    # dynamo's refusal to trace scikit-learn (sklearn_dict): the first line names only the type, the rest the code
    dynamo = RuntimeError('NotImplementedError: \n\nfrom user code:\n   File "/venv/lib/python3.11/site-packages/'
                          'narwhals/dependencies.py", line 62, in is_into_dataframe\n    return isinstance(x, D)')
    assert one_line(dynamo) == ("RuntimeError: NotImplementedError: in narwhals/dependencies.py, line 62, in "
                                "is_into_dataframe")
    assert one_line(ValueError("width 3 is odd\nFile \"a.py\", line 1")) == "ValueError: width 3 is odd"
    assert one_line(KeyError()) == "KeyError"
    assert len(one_line(ValueError("x" * 500))) == 200


def test_each_family_built_on_its_first_default_matrix_task():
    assert bench_case("koopman").task == "yinyang"
    assert bench_case("attractor").task == "digits_acts"  # its digits_acts group comes before its digits one
    assert bench_case("sae_cnn").spec.state_shape == (1, 128)
    missing = bench_case("sae", matrix=Path("no/such/matrix.toml"))
    assert missing.task is None and missing.spec == missing.model().spec and "example_spec" in missing.note


@pytest.mark.parametrize("task, view", [("sparse_vec", "autoencode"), ("sparse_fn_smooth", "autoencode"),
                                        ("digits", "autoencode")])
def test_data_spec_without_loading_equals_the_loaded_spec(task, view):
    instance = get_task(task)()
    loaded = instance.load(0, "smoke", view, torch.device("cpu"), progress=False)
    assert instance.data_spec("smoke", view) == loaded.spec


def test_markdown_has_the_header_a_line_per_row_and_the_device(table):
    text = bench_markdown(table)
    lines = text.splitlines()
    header = "| " + " | ".join(MARKDOWN_HEADER) + " |"
    assert lines.count(header) == 1
    body = lines[lines.index(header) + 2:]
    assert len(body) == len(table.rows) and all(line.startswith("| ") for line in body)
    assert table.environment["machine"] and table.environment["machine"] in lines[0]
    assert "cpu" in lines[0] and f"batch {FAST['batch_size']}" in lines[0]
    assert "| pca | digits_acts | 64 | eager | fp32 | 576 |" in text  # 64 x 8 components + the 64-wide mean


def test_csv_and_json_round_trip(table):
    for write, read in ((bench_csv, table_from_csv), (bench_json, table_from_json)):
        back = read(write(table))
        assert len(back.rows) == len(table.rows)
        for original, copy in zip(table.rows, back.rows):
            for name, value in vars(original).items():
                other = getattr(copy, name)
                assert (math.isnan(value) and math.isnan(other)) if isinstance(value, float) and math.isnan(value) \
                    else other == value, (name, value, other)
        assert str(back.environment["machine"]) == table.environment["machine"]
    assert json.loads(bench_json(table))["rows"][-1]["step_us"] is None  # pca: missing is null, not NaN


@pytest.mark.parametrize("arguments, named", [
    (["--family", "nope"], "'nope'"),
    (["--precision", "fp16"], "'fp16'"),
    (["--batch-size", "0"], "--batch-size 0"),
    (["--mode", "jit"], "'jit'"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, arguments, named):
    out = tmp_path / "costs.md"
    assert main(["bench", *arguments, "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and error.startswith("kae-zoo: error: ") and named in error
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_out_writes_the_table(tmp_path, capsys):
    out = tmp_path / "costs.md"
    assert main(["bench", "--family", "pca", "--mode", "eager", "--precision", "fp32", "--batch-size", "8",
                 "--repeats", "1", "--out", str(out), "-q"]) == 0
    text = out.read_text()
    assert "| pca | digits_acts |" in text and text.count("| pca |") == 1
    assert f"wrote {out}" in capsys.readouterr().out
    assert [path.name for path in tmp_path.iterdir()] == ["costs.md"]  # no temporary file left beside it
