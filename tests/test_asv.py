"""asv across commits: the environments asv builds itself install each commit's own wheel, results are recorded per
commit, the html is published, and a commit that slows the forward pass on purpose is flagged by `asv continuous`.

Runs in a temporary clone with two throwaway commits on top of HEAD (a no-op one, then a slowed forward), so it works
in a shallow clone too; asv's machine file goes to a temporary HOME. About 3 minutes on the 2-core VM, most of it
creating asv's virtualenv (torch 2.13.0 first, as asv.conf.json says)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "kae-zoo-test"
BENCHMARK = "KoopmanCPU.time_forward"  # no setup cache: the cheapest benchmark that times a model
# half a second more per forward pass: at least 1.7x at MNIST size even when asv --quick's single sample of the
# unchanged commit lands on a slow run (175 to 393 ms seen on one 2-core VM), hundreds of times at Yin-Yang size.
# Slowdowns proportional to the work failed: 50 ms was inside that noise at MNIST size, and running the forward
# pass three times moved Yin-Yang's 2.3 ms by 1.07x in one run and 3.84x in another
SLOWED = "        __import__('time').sleep(0.5)  # throwaway: a deliberate slowdown\n"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def commit_all(clone: Path, message: str) -> str:
    git("-c", "user.name=kae-zoo test", "-c", "user.email=test@kae-zoo.invalid", "commit", "-q", "-am", message,
        cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone)


@pytest.fixture(scope="module")
def asv_clone(tmp_path_factory):
    """A clone of this repository with a no-op commit and a slowed-forward commit on top: (clone, env, shas)."""
    asv = shutil.which("asv")
    if asv is None:
        pytest.fail("asv is not installed: pip install -e '.[dev]'")
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: asv benchmarks commits")
    base = tmp_path_factory.mktemp("asv")
    clone = base / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, capture_output=True)
    readme = clone / "README.md"
    readme.write_text(readme.read_text() + "\n")  # a commit that changes nothing the benchmarks see
    first = commit_all(clone, "throwaway: no-op")
    surrogate = clone / "kae_zoo" / "core" / "surrogate.py"
    text = surrogate.read_text()
    forward = "        return self.decode(self.advance(self.encode(x)))\n"
    assert text.count(forward) == 1, "Surrogate.forward changed: update the slowdown this test makes"
    surrogate.write_text(text.replace(forward, SLOWED + forward))
    second = commit_all(clone, "throwaway: slow forward")
    environment = {**os.environ, "HOME": str(base / "home")}  # asv writes its machine file to ~/.asv-machine.json
    (base / "home").mkdir()
    subprocess.run([asv, "machine", "--yes", "--machine", MACHINE], cwd=clone, env=environment, check=True,
                   capture_output=True, text=True)
    yield clone, environment, (first, second)
    shutil.rmtree(clone / ".asv" / "env", ignore_errors=True)  # asv's virtualenv with torch: about 1 GB


def asv(clone: Path, environment: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which("asv"), *args], cwd=clone, env=environment, capture_output=True, text=True,
                          timeout=1200)


def test_asv_builds_two_commits_records_them_and_publishes(asv_clone):
    clone, environment, shas = asv_clone
    ran = asv(clone, environment, "run", "--quick", "--machine", MACHINE, "-b", BENCHMARK, "HEAD~2..HEAD")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "Found multiple wheels" not in ran.stdout + ran.stderr
    results = clone / ".asv" / "results" / MACHINE
    recorded = {}
    for path in results.glob("*.json"):
        if path.name != "machine.json":
            content = json.loads(path.read_text())
            recorded[content["commit_hash"]] = content
    assert set(recorded) == set(shas), sorted(recorded)
    for content in recorded.values():  # a number for both sizes of the benchmark, at both commits
        timings = content["results"][f"benchmarks.{BENCHMARK}"][0]
        assert len(timings) == 2 and all(value is not None and value > 0 for value in timings), timings
    published = asv(clone, environment, "publish")
    assert published.returncode == 0, published.stderr[-3000:]
    assert (clone / ".asv" / "html" / "index.html").stat().st_size > 0


def test_asv_continuous_flags_the_slowed_commit(asv_clone):
    clone, environment, _ = asv_clone
    compared = asv(clone, environment, "continuous", "--quick", "--machine", MACHINE, "-b", BENCHMARK, "HEAD~1",
                   "HEAD")
    assert compared.returncode == 1, compared.stdout[-3000:] + compared.stderr[-3000:]
    assert "PERFORMANCE DECREASED" in compared.stdout
    flagged = [line for line in compared.stdout.splitlines() if line.startswith("| +") and BENCHMARK in line]
    assert len(flagged) == 2, compared.stdout[-3000:]  # both sizes, each slower by the ratio asv shows
    ratios = [float(line.split("|")[4]) for line in flagged]
    assert all(ratio >= 1.2 for ratio in ratios), ratios
    print("asv continuous ratios of the slowed commit:", ratios)
