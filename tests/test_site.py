"""`kae-zoo site`: the leaderboards say what `kae-zoo show` says, every page and figure is there, bad inputs change
nothing, and in a real headless Chromium the site loads without console errors, sorts and links to its pages."""

from __future__ import annotations

import re
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


def show_table(capsys, path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """`kae-zoo show`'s metric table: (family, task) -> metric -> text, parsed from its columns."""
    assert main(["show", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("family "))
    header, rule = lines[start], lines[start + 1]
    spans = [(match.start(), match.end()) for match in re.finditer(r"-+", rule)]
    names = [header[begin:end].strip() for begin, end in spans]
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        values = dict(zip(names, (line[begin:end if index + 1 < len(spans) else None].strip()
                                  for index, (begin, end) in enumerate(spans))))
        rows[values["family"], values["task"]] = values
    return rows


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


@pytest.fixture(scope="module")
def default_site(tmp_path_factory):
    """The site of the reference default matrix (7 families, 5 tasks, 3 seeds) with an asv html folder linked."""
    folder = tmp_path_factory.mktemp("default")
    asv_html = folder / "asv-html"
    asv_html.mkdir()
    (asv_html / "index.html").write_text("<!DOCTYPE html><title>airspeed velocity</title>")
    out = folder / "site"
    assert main(["site", str(DEFAULT), "--asv", str(asv_html), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("reference", ["smoke", "default"])
def test_the_leaderboards_say_what_kae_zoo_show_says(reference, request, capsys):
    site = request.getfixturevalue("site" if reference == "smoke" else "default_site")
    shown = show_table(capsys, SMOKE if reference == "smoke" else DEFAULT)
    parsed = parse(site / "index.html")
    seen = set()
    compared = 0
    for (task, view), rows in parsed.tables.items():
        metrics = parsed.columns[task, view][2:]
        assert metrics and all(metrics)
        for row in rows[1:]:  # rows[0] is the header
            family = row[0]
            seen.add((family, task))
            assert row[1] == shown[family, task]["ok/cells"]
            for metric, text in zip(metrics, row[2:]):
                assert text == shown[family, task][metric], (family, task, metric)
                compared += 1
            # every number show prints for the pair is a leaderboard cell (show's "-" columns are the other tasks')
            assert {metric for metric, text in shown[family, task].items()
                    if text != "-" and metric not in ("family", "task", "ok/cells")} <= set(metrics)
    assert seen == set(shown)  # every (family, task) of the file has its row
    assert compared > 50


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


def test_the_asv_graphs_are_copied_and_linked(default_site):
    assert "asv/index.html" in parse(default_site / "index.html").links
    assert "airspeed velocity" in (default_site / "asv" / "index.html").read_text()


@pytest.mark.parametrize(("arguments", "message"), [
    (["--out", "{out}"], "result file '{dir}/none.nc' does not exist"),
    (["--out", "{file}"], "is a file; give a folder for the site"),
    (["--out", "{out}", "--asv", "{dir}"], "has no index.html"),
])
def test_bad_site_inputs_exit_2_and_write_nothing(tmp_path, capsys, arguments, message):
    (tmp_path / "taken.txt").write_text("x")
    values = {"out": str(tmp_path / "site"), "file": str(tmp_path / "taken.txt"), "dir": str(tmp_path)}
    files = [str(tmp_path / "none.nc")] if "does not exist" in message else [str(SMOKE)]
    assert main(["site", *files, *(argument.format(**values) for argument in arguments)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message.format(**values) in error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken.txt"]


def test_a_site_is_not_written_over_a_folder_with_files_unless_asked(tmp_path, capsys):
    out = tmp_path / "site"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["site", str(SMOKE), "--out", str(out)]) == 2
    assert "not empty; pass --overwrite" in capsys.readouterr().err and (out / "keep.txt").exists()
    assert main(["site", str(SMOKE), "--out", str(out), "--overwrite"]) == 0
    assert not (out / "keep.txt").exists() and (out / "index.html").exists()


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
        assert families == ["sae", "lifted_sae", "sklearn_dict"]  # the file's order
        header = table.find_element(By.CSS_SELECTOR, "th[data-metric='dictionary_recovery'] button")
        header.click()
        ascending = [row.get_attribute("data-family") for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        header.click()
        descending = [row.get_attribute("data-family") for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        recovery = read_results(SMOKE)["dictionary_recovery"].sel(task="sparse_vec", seed=0)
        expected = sorted(families, key=lambda family: float(recovery.sel(family=family)))
        assert ascending == expected and descending == expected[::-1] and ascending != families
        search = driver.find_element(By.CSS_SELECTOR, "input[data-filter]")
        assert search.is_displayed()  # the script shows the filter it serves
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
