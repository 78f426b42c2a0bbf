"""The one cache of trained base networks: in the user's cache folder (shared by working directories), moved by
KAE_ZOO_CACHE, safe for concurrent writers, listed and cleared by `kae-zoo cache`."""

import json
import sys
import threading
import time

import numpy as np
import pytest

from kae_zoo.cli import main
from kae_zoo.core import cache
from kae_zoo.tasks import base_network
from kae_zoo.tasks.base_network import BaseNetworkConfig, cached_base_network

RUN = ["run", "--family", "koopman", "--task", "yinyang", "--preset", "smoke", "--set", "koopman.n_epochs=2", "-q"]


@pytest.fixture
def count_trainings(monkeypatch):
    """The number of base networks trained (not loaded from the cache) so far, as a one-item list."""
    trained = [0]
    real = base_network.train_base_network

    def counting(*args, **kwargs):
        trained[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(base_network, "train_base_network", counting)
    return trained


def test_two_working_directories_train_the_base_network_once(tmp_path, monkeypatch, capsys, count_trainings):
    user_cache = tmp_path / "user-cache"
    monkeypatch.delenv("KAE_ZOO_CACHE")  # the default: platformdirs' user cache folder (here a temporary one)
    monkeypatch.setattr(cache, "user_cache_dir", lambda name, appauthor=None: str(user_cache / name))
    for folder in ("first", "second"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        assert main([*RUN, "--out", "yy.nc"]) == 0
        assert not (tmp_path / folder / "datasets").exists()  # nothing cached in the working directory
    assert count_trainings[0] == 1  # the second working directory loaded the first one's network
    stored = sorted(path.name for path in (user_cache / "kae-zoo").iterdir() if not path.name.startswith("."))
    assert len(stored) == 2 and stored[0].startswith("base_yinyang_") and stored[0].endswith(".json")

    capsys.readouterr()
    assert main(["cache", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"cache: {user_cache / 'kae-zoo'}" in listing
    assert stored[1] in listing and "base network: task yinyang, preset smoke, seed 0, threads 1" in listing
    assert "total: 1 file(s)" in listing

    assert main(["cache", "clear"]) == 0
    cleared = capsys.readouterr().out
    assert f"removed {stored[1]}" in cleared and "in 1 file(s)" in cleared
    assert not [path for path in (user_cache / "kae-zoo").iterdir()]  # sidecar and lock file gone too
    assert main(["cache", "list"]) == 0 and "total: 0 file(s), 0 B" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform != "linux", reason="the default folder checked is Linux's (XDG)")
def test_kae_zoo_cache_overrides_the_user_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("KAE_ZOO_CACHE")
    assert cache.cache_root() == tmp_path / "xdg" / "kae-zoo"
    monkeypatch.setenv("KAE_ZOO_CACHE", str(tmp_path / "mine"))
    assert cache.cache_root() == tmp_path / "mine"
    assert cache.entry_path("base", "file:/data/my arrays.npz", "abc", ".pt") == (
        tmp_path / "mine" / "base_file_data_my_arrays_npz_abc.pt")


def test_concurrent_builders_train_once_and_leave_a_whole_file(tmp_path, monkeypatch, count_trainings):
    monkeypatch.setenv("KAE_ZOO_CACHE", str(tmp_path))
    slow_real = base_network.train_base_network

    def slow(*args, **kwargs):  # long enough that the second builder arrives while the first trains
        time.sleep(0.5)
        return slow_real(*args, **kwargs)

    monkeypatch.setattr(base_network, "train_base_network", slow)
    rng = np.random.default_rng(0)
    features, labels = rng.normal(size=(40, 3)).astype(np.float32), rng.integers(0, 2, size=40)
    config = BaseNetworkConfig(width=4, n_blocks=1, n_epochs=2, batch_size=8)
    keys = []

    def build() -> None:
        keys.append(cached_base_network("toy", features, labels, 2, config, seed=0, progress=False)[1])

    builders = [threading.Thread(target=build) for _ in range(2)]
    for builder in builders:
        builder.start()
    for builder in builders:
        builder.join()
    assert count_trainings[0] == 1 and len(keys) == 2 and keys[0] == keys[1]
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == [f".base_toy_{keys[0]}.pt.lock", f"base_toy_{keys[0]}.json", f"base_toy_{keys[0]}.pt"]
    cached_base_network("toy", features, labels, 2, config, seed=0, progress=False)  # loads: no third training
    assert count_trainings[0] == 1


def test_list_and_clear_with_a_filter(tmp_path, monkeypatch):
    monkeypatch.setenv("KAE_ZOO_CACHE", str(tmp_path))
    (tmp_path / "base_a_1.pt").write_bytes(b"x" * 1000)
    about = json.dumps({"what": "base network", "task": "a", "seed": 3})  # 48 characters
    (tmp_path / "base_a_1.json").write_text(about)
    (tmp_path / "base_b_2.pt").write_bytes(b"y" * 10)  # no sidecar: what it is is unknown
    (tmp_path / ".base_b_2.pt.lock").touch()
    (tmp_path / ".base_c_3.pt.x1.tmp").touch()  # left by an interrupted write
    entries = cache.list_cache()
    assert [entry.path.name for entry in entries] == ["base_a_1.pt", "base_b_2.pt"]
    assert [entry.n_bytes for entry in entries] == [1048, 10]
    assert entries[0].description() == "base network: task a, seed 3"
    assert entries[1].description().startswith("unknown")

    assert [entry.path.name for entry in cache.clear_cache(match="base_a_*")] == ["base_a_1.pt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [".base_b_2.pt.lock", ".base_c_3.pt.x1.tmp",
                                                                "base_b_2.pt"]
    assert [entry.path.name for entry in cache.clear_cache()] == ["base_b_2.pt"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("n_bytes, shown", [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (1234567, "1.2 MB"),
                                            (5_000_000_000_000, "5000.0 GB")])
def test_format_size(n_bytes, shown):
    assert cache.format_size(n_bytes) == shown
