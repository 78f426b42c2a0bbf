"""`kae-zoo site`: the leaderboards say what `kae-zoo show` says, every page and figure is there, bad inputs change
nothing, and in a real headless Chromium the site loads without console errors, sorts and links to its pages."""

from __future__ import annotations

import json
import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from kae_zoo.cli import main
from kae_zoo.store.results import read_results, write_reproduction

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "results" / "reference" / "smoke.nc"
DEFAULT = ROOT / "results" / "reference" / "default.nc"


class Tables(HTMLParser):
    """Every leaderboard (`<table class="sortable">`) by (task, data view): its column metrics (the `data-metric` of
    each header cell, "" for family and seeds) and the text of every body cell; and every image and link of the
    page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[tuple[str, str], list[list[str]]] = {}
        self.columns: dict[tuple[str, str], list[str]] = {}
        self.images: list[str] = []
        self.links: list[str] = []
        self._table: tuple[str, str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table" and "sortable" in (attributes.get("class") or ""):
            self._table = (attributes["data-task"], attributes["data-view"])
            self.tables[self._table], self.columns[self._table] = [], []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            if tag == "th" and attributes.get("scope") == "col":
                self.columns[self._table].append(attributes.get("data-metric") or "")
            self._cell = []
        elif tag == "img":
            self.images.append(attributes["src"])
        elif tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(path: Path) -> Tables:
    tables = Tables()
    tables.feed(path.read_text())
    return tables


def show_table(capsys, path: Path) -> tuple[dict[tuple[str, str], dict[str, str]], set[tuple[str, str]]]:
    """`kae-zoo show --format markdown`'s metric tables (one per score group) merged: (family, task) -> metric ->
    text, its headings' direction arrows dropped; and the pairs the training section says had a loss spike."""
    assert main(["show", str(path), "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    spiked = {tuple(line.strip().split(":")[0].split("/", 1)) for line in lines if "LOSS SPIKE" in line}
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for start in (index for index, line in enumerate(lines) if line.startswith("| family | task |")):
        names = [cell.strip().removesuffix(" ↑").removesuffix(" ↓") for cell in lines[start].strip("|").split("|")]
        for line in lines[start + 2:]:
            if not line.startswith("|"):
                break
            values = dict(zip(names, (cell.strip() for cell in line.strip("|").split("|"))))
            rows.setdefault((values["family"], values["task"]), {}).update(values)
    return rows, spiked


def png_width(path: Path) -> int:
    """The width a PNG's IHDR chunk declares (0 when the file is no PNG)."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return 0
    return struct.unpack(">I", head[16:20])[0]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site of the reference smoke matrix and a small reproduction table, built through the CLI."""
    folder = tmp_path_factory.mktemp("site")
    reproduction = folder / "reproduction.nc"
    rows = [{"key": "kae_yinyang_accuracy", "source": "arXiv 2505.12809", "statement": "the KAE matches the base "
             "network", "paper_value": "0.98", "measured": "0.957 (one seed)", "verdict": "holds partly",
             "rule": "within 1 pp", "detail": "", "conditions": "smoke", "departures": "smoke sizes",
             "experiments": "kae_yinyang", "measured_mean": 0.957, "measured_std": np.nan, "n_seeds": 1}]
    write_reproduction(reproduction, rows, {"preset": "smoke"}, "cpu")
    out = folder / "out"
    assert main(["site", str(SMOKE), str(reproduction), "--out", str(out)]) == 0
    return out


def write_asv_html(folder: Path) -> None:
    """A small `asv publish` folder in asv 0.6's format: index.json and one machine's graph of one benchmark."""
    graphs = folder / "graphs" / "arch-x86_64" / "machine-vm"
    graphs.mkdir(parents=True)
    (folder / "index.html").write_text("<!DOCTYPE html><title>airspeed velocity</title>")
    index = {"revision_to_hash": {"57": "eb6f4e2e001dad17", "58": "7369b80469dd3ec4"},
             "benchmarks": {"benchmarks.KoopmanCPU.time_forward": {
                 "param_names": ["task"], "params": [["'yinyang'", "'mnist'"]], "unit": "seconds"}}}
    (folder / "index.json").write_text(json.dumps(index))
    (graphs / "benchmarks.KoopmanCPU.time_forward.json").write_text(json.dumps(
        [[57, [0.0014, 0.085]], [58, [0.0515, None]]]))  # the second commit: slower, one size failed


@pytest.fixture(scope="module")
def default_site(tmp_path_factory):
    """The site of the reference default matrix (7 families, 5 tasks, 3 seeds) with an asv html folder linked."""
    folder = tmp_path_factory.mktemp("default")
    asv_html = folder / "asv-html"
    write_asv_html(asv_html)
    out = folder / "site"
    assert main(["site", str(DEFAULT), "--asv", str(asv_html), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("reference", ["smoke", "default"])
def test_the_leaderboards_say_what_kae_zoo_show_says(reference, request, capsys):
    site = request.getfixturevalue("site" if reference == "smoke" else "default_site")
    shown, spiked = show_table(capsys, SMOKE if reference == "smoke" else DEFAULT)
    parsed = parse(site / "index.html")
    seen = set()
    compared = 0
    for (task, view), rows in parsed.tables.items():
        metrics = parsed.columns[task, view][2:]
        assert metrics and all(metrics)
        for row in rows[1:]:  # rows[0] is the header
            family = row[0].removesuffix(" ⚠")
            assert row[0].endswith("⚠") == ((family, task) in spiked), row[0]  # the loss-spike mark, as show says
            seen.add((family, task))
            assert row[1] == shown[family, task]["ok/cells"]
            for metric, text in zip(metrics, row[2:]):
                # a pair with no value in a metric's group has no row in that group's markdown table: "-"
                assert text == shown[family, task].get(metric, "-"), (family, task, metric)
                compared += 1
            # every number show prints for the pair is a leaderboard cell (show's "-" columns are the other tasks')
            assert {metric for metric, text in shown[family, task].items()
                    if text != "-" and metric not in ("family", "task", "ok/cells")} <= set(metrics)
    assert seen == set(shown)  # every (family, task) of the file has its row
    assert compared > 50
    assert reference == "smoke" or spiked  # the default matrix's koopman/yinyang spikes on every seed


def test_every_page_and_figure_of_the_site_exists(site):
    index = parse(site / "index.html")
    pages = [link for link in index.links if link.startswith("pairs/")]
    assert len(pages) == len(read_results(SMOKE)["family"])  # the smoke matrix: one task per family
    for page in pages:
        parsed = parse(site / page)
        assert parsed.images, page
        for image in parsed.images:
            assert png_width((site / page).parent / image) > 0, image
    text = (site / "index.html").read_text()
    assert "kae_yinyang_accuracy" in text and "holds partly" in text  # the reproduction table
    assert 'class="best"' in text  # a best value is marked in a ranked column with several families
    assert sum(path.stat().st_size for path in site.rglob("*")) < 5e6


def test_the_asv_history_is_drawn_and_asv_pages_copied(default_site):
    assert "asv.html" in parse(default_site / "index.html").links
    page = parse(default_site / "asv.html")
    assert len(page.images) == 1 and png_width(default_site / page.images[0]) > 0
    assert "asv/index.html" in page.links
    assert "airspeed velocity" in (default_site / "asv" / "index.html").read_text()


def test_a_family_page_has_its_training_record_and_score_tables(site):
    text = (site / "pairs" / "smoke.nc--attractor--digits.html").read_text()
    assert "Training record" in text and "scored_epoch" in text
    assert "<h3" in text and "ood_auroc" in text and "trajectory" in text  # AUROC per method and OOD set


@pytest.mark.parametrize(("arguments", "message"), [
    (["--out", "{out}"], "result file '{dir}/none.nc' does not exist"),
    (["--out", "{file}"], "is a file; give a folder for the site"),
    (["--out", "{out}", "--asv", "{dir}"], "has no index.json"),
])
def test_bad_site_inputs_exit_2_and_write_nothing(tmp_path, capsys, arguments, message):
    (tmp_path / "taken.txt").write_text("x")
    values = {"out": str(tmp_path / "site"), "file": str(tmp_path / "taken.txt"), "dir": str(tmp_path)}
    files = [str(tmp_path / "none.nc")] if "does not exist" in message else [str(SMOKE)]
    assert main(["site", *files, *(argument.format(**values) for argument in arguments)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message.format(**values) in error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken.txt"]


def test_only_an_earlier_site_is_ever_replaced(tmp_path, capsys, monkeypatch):
    out = tmp_path / "site"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["site", str(SMOKE), "--out", str(out)]) == 2
    assert "not empty; pass --overwrite" in capsys.readouterr().err
    assert main(["site", str(SMOKE), "--out", str(out), "--overwrite"]) == 2  # not a site: never deleted
    assert "is not an earlier kae-zoo site" in capsys.readouterr().err and (out / "keep.txt").exists()
    (out / "keep.txt").unlink()
    assert main(["site", str(SMOKE), "--out", str(out)]) == 0  # an empty folder is fine
    assert main(["site", str(SMOKE), "--out", str(out), "--overwrite"]) == 0  # an earlier site is replaced
    assert (out / "index.html").exists() and (out / "kae-zoo-site.json").exists()
    # a folder that holds an input, or the working directory, is refused even when it is an earlier site
    shutil.copy(SMOKE, out / "smoke.nc")
    assert main(["site", str(out / "smoke.nc"), "--out", str(out), "--overwrite"]) == 2
    assert "building the site would delete" in capsys.readouterr().err and (out / "smoke.nc").exists()
    monkeypatch.chdir(out)
    assert main(["site", str(SMOKE), "--out", ".", "--overwrite"]) == 2
    assert "building the site would delete" in capsys.readouterr().err and (out / "index.html").exists()


def test_an_unwritable_out_is_one_line(tmp_path, capsys):
    assert main(["site", str(SMOKE), "--out", "/proc/kae-zoo-site"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "cannot write the site to --out '/proc/kae-zoo-site'" in error


def chromium():
    """A headless Chromium driven by Selenium, or a skip saying what is missing."""
    browser, driver_binary = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if browser is None or driver_binary is None:
        pytest.skip("no chromium / chromedriver on PATH: apt-get install chromium chromium-driver (Debian)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install -e '.[dev]'")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.binary_location = browser
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver_binary), options=options)


def test_the_site_in_a_real_browser(site, tmp_path):
    from selenium.webdriver.common.by import By

    driver = chromium()
    try:
        driver.get((site / "index.html").as_uri())
        table = driver.find_element(By.CSS_SELECTOR, "table.sortable[data-task='sparse_vec']")
        families = [row.get_attribute("data-family") for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        # sae's baselines after it, then lifted_sae (the smoke file's order: sae, lifted_sae, sklearn_dict, ...)
        assert families == ["sae", "sklearn_dict", "sae_topk", "sae_batchtopk", "sae_jumprelu", "sae_gated",
                            "sae_matryoshka", "lifted_sae"]
        header = table.find_element(By.CSS_SELECTOR, "th[data-metric='dictionary_recovery']")
        header.click()  # the middle of the header cell (its units line), as a user clicks it
        first = [row.get_attribute("data-family") for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        header.click()
        second = [row.get_attribute("data-family") for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        recovery = read_results(SMOKE)["dictionary_recovery"].sel(task="sparse_vec", seed=0)
        ascending = sorted(families, key=lambda family: float(recovery.sel(family=family)))
        assert first == ascending[::-1] and second == ascending  # higher is better: best first, then reversed
        assert first != families
        section = table.find_element(By.XPATH, "./ancestor::section")
        search = section.find_element(By.CSS_SELECTOR, "input[data-filter]")
        assert search.is_displayed()  # the script shows the filter it serves
        search.send_keys("lifted")
        assert [row.get_attribute("data-family") for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
                if row.is_displayed()] == ["lifted_sae"]
        search.send_keys("zzz")
        assert section.find_element(By.CSS_SELECTOR, ".no-match").is_displayed()
        search.clear()
        search.send_keys(" ")
        driver.save_screenshot(str(tmp_path / "index.png"))
        driver.find_element(By.LINK_TEXT, "lifted_sae").click()
        assert driver.title.startswith("lifted_sae on sparse_vec")
        images = driver.find_elements(By.TAG_NAME, "img")
        assert images and all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image)
                              for image in images)
        driver.save_screenshot(str(tmp_path / "pair.png"))
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()
    assert (tmp_path / "index.png").stat().st_size > 10_000  # the screenshots are the test's artifacts
    print(f"screenshots: {tmp_path / 'index.png'}, {tmp_path / 'pair.png'}")


def test_families_of_two_data_views_of_a_task_get_two_leaderboards(tmp_path):
    """koopman (a base network's layer map) and attractor (autoencoding) on digits predict different targets."""
    from kae_zoo.store.results import CellResult, write_results

    cells = [CellResult("koopman", "digits", 0, scalars={"state_error": 0.2}),
             CellResult("attractor", "digits", 0, scalars={"state_error": 0.1}),
             CellResult("sae", "digits", 0, scalars={"state_error": 0.3})]
    write_results(tmp_path / "views.nc", cells, {}, "cpu")
    assert main(["site", str(tmp_path / "views.nc"), "--out", str(tmp_path / "site")]) == 0
    parsed = parse(tmp_path / "site" / "index.html")
    assert {key: [row[0] for row in rows[1:]] for key, rows in parsed.tables.items()} == {
        ("digits", "layer_pair"): ["koopman"], ("digits", "autoencode"): ["attractor", "sae"]}
    text = (tmp_path / "site" / "index.html").read_text()
    assert text.count('class="best"') == 1  # attractor's 0.1 against sae's 0.3; koopman ranks alone


def test_a_tie_marks_no_best(tmp_path):
    from kae_zoo.store.results import CellResult, write_results

    cells = [CellResult(family, "sparse_vec", 0, scalars={"steps_to_recovery": 1000.0, "sparsity": value})
             for family, value in (("sae", 5.0), ("lifted_sae", 4.0))]  # both at the step cap: a tie
    write_results(tmp_path / "tie.nc", cells, {}, "cpu")
    assert main(["site", str(tmp_path / "tie.nc"), "--out", str(tmp_path / "site")]) == 0
    text = (tmp_path / "site" / "index.html").read_text()
    assert text.count('class="best"') == 1 and 'data-metric="sparsity" data-value="4.0" class="best"' in text
