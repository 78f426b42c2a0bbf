"""The cost table (`kae-zoo bench`): what each registered family costs per sample at its default size.

For every family (the registry, plugins included; nothing here names a family) and every configuration (eager or
compiled x a precision), one `BenchRow`: parameters and buffers, the peak memory and the median time per sample of
the forward pass (no gradients, eval mode) and of one forward + backward of the family's training loss
(`model.loss(batch)["total"].backward()`, train mode: what the shared trainer differentiates; the optimiser step is
not timed).

How a family is set up (`bench_case`):
- task: the family's first task in benches/matrix/default.toml (the file's order; `kae-zoo list` shows where each
  family can run); a family the default matrix does not run (a plugin), or a task that cannot give its data spec
  without its data, gets the family's `example_spec`, and its row says so;
- model: `create_surrogate(family, spec, preset="default", task=task, seed=0)` with the matrix's overrides for the
  family: the weights as initialised from seed 0, never trained (a timing does not depend on the values, except
  through data-dependent sparsity: a trained TopK or lasso code may take another branch);
- data: seeded Gaussian states of the spec's shape (`kae_zoo.core.batching.random_states`), `batch_size` of them;
  the task's data is neither made nor loaded and no base network is trained.

Precision and compile are `kae_zoo.core.acceleration.Acceleration`, exactly what `kae-zoo run --precision
--compile` uses: bf16 is autocast around the forward pass and the loss; compiled is the model compiled in place
(`nn.Module.compile`), so `forward` runs compiled and `loss` runs compiled only where it calls the model itself
(as in a compiled run). A configuration that fails (torch.compile cannot compile a family, say) is recorded with a
one-line error and the next one runs. Families that fit themselves (`Surrogate.fits_itself`: closed-form or
scikit-learn fits) take no gradient step: their forward + backward is missing, with the reason.

Peak memory is the tensor memory one call allocates beyond what was live before it (weights, inputs): on CUDA
`torch.cuda.max_memory_allocated` after a reset; on the CPU the running sum of torch.profiler's allocation and free
events (`profile_memory=True`), whose maximum is the peak (`MEMORY_METHODS`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch

from ..core.acceleration import Acceleration
from ..core.allocator import reuse_freed_memory
from ..core.batching import random_states
from ..core.config import PRECISIONS
from ..core.determinism import torch_threads
from ..core.logs import progress_bar
from ..core.provenance import git_sha, kae_zoo_version, machine_name, now
from ..core.surrogate import Surrogate
from ..core.types import Batch, DataSpec
from ..families import create_surrogate, get_family, list_families
from ..tasks import get_task
from .matrix import load_matrix

logger = logging.getLogger(__name__)

DEFAULT_MATRIX = Path(__file__).resolve().parents[2] / "benches" / "matrix" / "default.toml"
PRESET = "default"
SEED = 0
MODES = ("eager", "compiled")
DEFAULT_PRECISIONS = ("fp32", "bf16")
DEFAULT_BATCH_SIZE = 256
DEFAULT_REPEATS = 10
N_WARMUP = 2  # untimed calls before the timed ones (a compiled model compiles in the first)
MEMORY_METHODS = {
    "cpu": "torch.profiler allocation events (profile_memory=True), peak of their running sum",
    "cuda": "torch.cuda.max_memory_allocated after reset_peak_memory_stats",
}
NO_STEP = "no gradient step: fitted by its own algorithm (Surrogate.fits_itself)"
NOISY_LOGGERS = ("torch._dynamo", "torch._inductor", "torch.fx.experimental.symbolic_shapes")


@dataclass(frozen=True)
class BenchRow:
    """One family in one configuration. Times in microseconds per sample, memory in bytes; NaN = not measured
    (`error` or `note` says why)."""

    family: str
    task: str  # the task whose data spec the model was built on; "example_spec" when none
    state_shape: str  # the states' shape without the batch dim, e.g. "50" or "1x128"
    mode: str  # "eager" or "compiled"
    precision: str  # "fp32", "bf16" (autocast) or "tf32" (CUDA)
    parameters: int  # elements of the trainable tensors (nn.Parameters with requires_grad)
    buffers: int  # elements of the buffers: fixed or fitted state that no gradient trains
    trained_by: str  # "gradient" (the shared trainer) or "own fit" (closed form or scikit-learn: no step)
    forward_us: float  # median forward time per sample, no gradients
    step_us: float  # median forward + backward time per sample of the training loss
    forward_peak_bytes: float  # peak memory of one forward pass beyond what was live before it
    step_peak_bytes: float  # the same for one forward + backward
    error: str = ""  # why this configuration failed (one line); "" when it ran
    note: str = ""  # why a value is missing although the configuration ran; "" when none


@dataclass
class BenchTable:
    """The rows and what they were measured with (the caption of every format)."""

    rows: list[BenchRow]
    environment: dict[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchCase:
    """A family as the table builds it: task (None: its example_spec), data spec and config overrides."""

    family: str
    task: str | None
    spec: DataSpec
    overrides: dict
    note: str = ""

    def model(self) -> Surrogate:
        return create_surrogate(self.family, self.spec, preset=PRESET, task=self.task, seed=SEED, **self.overrides)


@functools.lru_cache(maxsize=4)
def _matrix_cells(path: Path) -> tuple[tuple[tuple[str, str], ...], dict]:
    """(family, task) pairs and overrides of a matrix file; none when the file is absent (kae-zoo installed without
    its benches/ folder)."""
    if not path.is_file():
        return (), {}
    spec = load_matrix(path, device="cpu")
    return tuple(spec.family_task_pairs()), spec.overrides


def bench_case(family: str, matrix: Path = DEFAULT_MATRIX) -> BenchCase:
    """How the table builds `family` (module docstring): its first task in `matrix`, that task's data spec."""
    family_class = get_family(family)
    pairs, overrides = _matrix_cells(Path(matrix))
    task = next((name for member, name in pairs if member == family), None)
    if task is None:
        return BenchCase(family, None, family_class.example_spec, {},
                         f"not in {Path(matrix).name}: built on its example_spec")
    try:
        spec = get_task(task)().data_spec(PRESET, family_class.data_view)
    except NotImplementedError as error:
        return BenchCase(family, None, family_class.example_spec, {}, f"{error}: built on its example_spec")
    return BenchCase(family, task, spec, dict(overrides.get(family, {})))


def check_bench_settings(families: Sequence[str], device: str, precisions: Sequence[str], modes: Sequence[str],
                         batch_size: int, repeats: int) -> None:
    """ValueError (or the registry's UnknownNameError) naming the first bad setting, before anything is measured."""
    for family in families:
        get_family(family)
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r} is not one of cpu, cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no CUDA device; use --device cpu")
    for name, values, valid in (("precision", precisions, PRECISIONS), ("mode", modes, MODES)):
        if not values:
            raise ValueError(f"no {name} given; valid: {', '.join(valid)}")
        for value in values:
            if value not in valid:
                raise ValueError(f"{name} {value!r} is not one of {', '.join(valid)}")
    for precision in precisions:
        Acceleration(precision).validate(torch.device(device))
    for name, value in (("batch size", batch_size), ("repeats", repeats)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(call: Callable[[], object], repeats: int, device: torch.device, n_warmup: int = N_WARMUP) -> float:
    """The median wall time of `call()` over `repeats` calls after `n_warmup` untimed ones (CUDA-synchronised)."""
    for _ in range(n_warmup):
        call()
    _synchronise(device)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        _synchronise(device)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def peak_memory_bytes(call: Callable[[], object], device: torch.device) -> float:
    """The peak tensor memory one `call()` allocates beyond what was live before it (`MEMORY_METHODS`)."""
    if device.type == "cuda":
        _synchronise(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        call()
        _synchronise(device)
        return float(torch.cuda.max_memory_allocated(device) - before)
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        call()
    events: list[tuple[int, int]] = []
    nodes = list(profiler.profiler.kineto_results.experimental_event_tree())
    while nodes:
        node = nodes.pop()
        if node.tag == _EventType.Allocation and node.extra_fields.device.type == "cpu":
            events.append((node.start_time_ns, node.extra_fields.alloc_size))  # negative for a free
        nodes.extend(node.children)
    running = peak = 0
    for _, size in sorted(events):
        running += size
        peak = max(peak, running)
    return float(peak)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 sent to /dev/null inside the block: kineto (torch.profiler's back end) writes two
    `USDT: ... profiler_start/stop` lines to it from C++ at every profile, whatever KINETO_LOG_LEVEL says."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def quiet_compiler() -> Iterator[None]:
    """Python warnings and the compiler's log lines (dynamo, inductor) kept off the terminal inside the block; a
    failure still raises and is recorded in its row."""
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    levels = [one.level for one in loggers]
    for one in loggers:
        one.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for one, level in zip(loggers, levels):
            one.setLevel(level)


def one_line(error: BaseException) -> str:
    """`Type: first line of the message`, at most 200 characters. When that line names only an exception type
    (dynamo's `NotImplementedError: `, whose message is the user code it stopped in), the first source line the
    message points at follows it, so the row says where compiling failed."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    line = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    if lines and " " not in lines[0].rstrip(": "):
        where = next((text for text in lines[1:] if text.startswith('File "')), "")
        if where:
            line += " in " + where.split("site-packages/")[-1].removeprefix('File "').replace('", line', ", line")
    return line if len(line) <= 200 else line[:197] + "..."


def count_elements(tensors: Iterator[torch.Tensor]) -> int:
    return sum(tensor.numel() for tensor in tensors)


def measure(case: BenchCase, mode: str, precision: str, *, device: torch.device, batch: Batch,
            repeats: int) -> BenchRow:
    """One row: `case`'s model in one configuration (module docstring); a failure becomes the row's `error`."""
    family_class = get_family(case.family)
    model = case.model().to(device)
    own_fit = family_class.fits_itself
    nan = math.nan
    values = {"forward_us": nan, "step_us": nan, "forward_peak_bytes": nan, "step_peak_bytes": nan}
    row = {
        "family": case.family, "task": case.task or "example_spec",
        "state_shape": "x".join(str(extent) for extent in case.spec.state_shape), "mode": mode,
        "precision": precision,
        "parameters": count_elements(p for p in model.parameters() if p.requires_grad),
        "buffers": count_elements(model.buffers()), "trained_by": "own fit" if own_fit else "gradient",
    }
    notes = [case.note] if case.note else []
    acceleration = Acceleration(precision, mode == "compiled")
    n_samples = len(batch["source"])

    @torch.no_grad()
    def forward() -> None:
        with acceleration.autocast(device):
            model(batch["source"])

    def step() -> None:
        model.zero_grad(set_to_none=True)
        with acceleration.autocast(device):
            terms = model.loss(batch)
        terms["total"].backward()

    try:
        with quiet_compiler(), acceleration.matmul_precision():
            if acceleration.compile:
                from torch import _dynamo  # on use: seconds at import

                _dynamo.reset()  # a fresh cache per model: no recompile limit reached across families
            acceleration.prepare(model)
            model.eval()
            values["forward_us"] = median_seconds(forward, repeats, device) / n_samples * 1e6
            values["forward_peak_bytes"] = peak_memory_bytes(forward, device)
            if own_fit:
                notes.append(NO_STEP)
            else:
                model.train()
                values["step_us"] = median_seconds(step, repeats, device) / n_samples * 1e6
                values["step_peak_bytes"] = peak_memory_bytes(step, device)
    except Exception as error:  # recorded in the row: one configuration never stops the table
        logger.warning("bench %s (%s, %s) failed: %s", case.family, mode, precision, one_line(error))
        return BenchRow(**row, **{key: nan for key in values}, error=one_line(error), note="; ".join(notes))
    return BenchRow(**row, **values, note="; ".join(notes))


def bench_environment(device: torch.device, batch_size: int, repeats: int, threads: int) -> dict[str, str | int]:
    """What the table was measured with: the caption of every format."""
    return {
        "device": str(device),
        "machine": machine_name(device),
        "threads": threads,
        "cpu_count": _cpu_count(),
        "torch_version": str(torch.__version__),
        "kae_zoo_version": kae_zoo_version(),
        "git_sha": git_sha(),
        "created": now(),
        "preset": PRESET,
        "seed": SEED,
        "batch_size": batch_size,
        "repeats": repeats,
        "warmup": N_WARMUP,
        "memory_method": MEMORY_METHODS[device.type],
    }


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def run_bench(families: Sequence[str] | None = None, *, device: str = "cpu",
              precisions: Sequence[str] = DEFAULT_PRECISIONS, modes: Sequence[str] = MODES,
              batch_size: int = DEFAULT_BATCH_SIZE, repeats: int = DEFAULT_REPEATS, threads: int = 1,
              matrix: Path = DEFAULT_MATRIX, progress: bool = True) -> BenchTable:
    """The cost table of `families` (default: every registered family) in every mode x precision, measured with
    `threads` torch CPU threads and freed memory kept in the process, as a matrix cell runs
    (`kae_zoo.core.allocator`). Settings are checked before anything runs (ValueError)."""
    families = list(families) if families else list_families()
    check_bench_settings(families, device, precisions, modes, batch_size, repeats)
    reuse_freed_memory()
    target = torch.device(device)
    configurations = [(mode, precision) for mode in modes for precision in precisions]
    rows: list[BenchRow] = []
    bar = progress_bar(total=len(families) * len(configurations), description="bench", enabled=progress)
    with torch_threads(threads):
        for family in families:
            start = time.perf_counter()
            case = bench_case(family, matrix)
            batch = {key: value.to(target) for key, value in
                     random_states(case.spec, get_family(family).data_view, batch_size, SEED).items()}
            for mode, precision in configurations:
                bar.set_postfix_str(f"{family} {mode} {precision}")
                rows.append(measure(case, mode, precision, device=target, batch=batch, repeats=repeats))
                bar.update()
            logger.log(logging.INFO if bar.disable else logging.DEBUG, "bench %s on %s: %d configurations in %.1f s",
                       family, case.task or "example_spec", len(configurations), time.perf_counter() - start)
        environment = bench_environment(target, batch_size, repeats, torch.get_num_threads())
    bar.close()
    return BenchTable(rows, environment)
