"""Cells of the benchmark matrix timed against a fixed matmul workload in the same process: a ratio that compares
two commits (or two machines) without trusting either machine's clock speed.

    python benches/cell_cost.py                              # sae_cnn + sae_fno on sparse_fn_smooth, seed 0
    python benches/cell_cost.py --cells koopman/yinyang,sae/sparse_vec --out cost.json
    PYTHONPATH=../old python benches/cell_cost.py            # the same cells on another checkout of kae-zoo

Each cell runs as `kae-zoo run` runs it (`run_cell`, default preset, one thread, task data loaded in the cell); the
fixed workload (a float32 512 x 512 matmul chain, one thread) is timed before and after every cell, and a cell's
ratio is its wall-clock time over the median of all workload timings. The script uses only `run_cell`, so it
runs unchanged on older commits: put the other checkout first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

WORKLOAD_MATMULS = 400  # 512 x 512 x 512 float32 products: ~0.1 TFLOP, about a second on one core


def matmul_workload_seconds() -> float:
    """Seconds of the fixed workload on one thread (a chain of matmuls whose result is kept bounded)."""
    generator = torch.Generator().manual_seed(0)
    matrix = torch.randn(512, 512, generator=generator) / 512**0.5
    state = torch.randn(512, 512, generator=generator)
    start = time.perf_counter()
    for _ in range(WORKLOAD_MATMULS):
        state = torch.tanh(state @ matrix)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="sae_cnn/sparse_fn_smooth,sae_fno/sparse_fn_smooth",
                        help="FAMILY/TASK pairs, comma-separated (default: the two function-space SAEs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--out", default="", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    pairs = [cell.split("/") for cell in args.cells.split(",") if cell]
    if not pairs or any(len(pair) != 2 for pair in pairs):
        parser.error(f"--cells takes FAMILY/TASK pairs, comma-separated; got {args.cells!r}")

    import kae_zoo
    from kae_zoo.core.provenance import cpu_model, git_sha
    from kae_zoo.experiments.runner import run_cell

    torch.set_num_threads(1)
    workload = [matmul_workload_seconds()]
    cells = []
    for family, task in pairs:
        start = time.perf_counter()
        result = run_cell(family, task, args.seed, preset=args.preset, device="cpu", progress=False)
        seconds = time.perf_counter() - start
        workload.append(matmul_workload_seconds())
        if result.status != "ok":
            print(f"{family}/{task}: {result.status}: {result.error}", file=sys.stderr)
            return 1
        cells.append({"family": family, "task": task, "seed": args.seed, "seconds": seconds,
                      "train_seconds": result.scalars.get("train_seconds")})
        print(f"{family}/{task}/{args.seed}: {seconds:.1f} s (training {cells[-1]['train_seconds']:.1f} s)",
              file=sys.stderr)
    unit = statistics.median(workload)
    for cell in cells:
        cell["ratio"] = cell["seconds"] / unit
    report = {"kae_zoo": str(Path(kae_zoo.__file__).parent), "commit": git_sha(), "machine": cpu_model(),
              "preset": args.preset,
              "workload_seconds": workload, "workload_median": unit, "cells": cells,
              "total_ratio": sum(cell["ratio"] for cell in cells)}
    print(f"commit {report['commit']}: workload median {unit:.3f} s; "
          + ", ".join(f"{cell['family']}/{cell['task']} {cell['ratio']:.1f}x" for cell in cells)
          + f"; total {report['total_ratio']:.1f}x")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
