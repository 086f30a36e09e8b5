"""report.html, ``genart report`` (runs side by side) and ``genart runs``: self-contained pages, no broken images."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from genart.contract.plugins import App


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.other: list[str] = []
        self.scripts = 0
        self.highlighted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"] or "")
        elif tag == "script":
            self.scripts += 1
        elif tag == "tr" and values.get("class") == "diff":
            self.highlighted += 1
        if tag == "a":
            self.links.append(values.get("href") or "")
        elif tag != "img" and (values.get("href") or values.get("src")):
            self.other.append(values.get("href") or values.get("src") or "")


def check_page(page: Path) -> Links:
    """Every image resolves to a file beside the page; nothing comes from the network; no scripts."""
    links = Links()
    links.feed(page.read_text())
    assert links.images, "the page shows pictures"
    for src in links.images + links.links:
        assert "://" not in src and not src.startswith("/"), f"{src} is not a relative link"
        assert (page.parent / src).is_file(), f"broken image link {src}"
    assert not links.other and links.scripts == 0
    return links


def make_runs(genart_cli: Any, app: App, out: Path, count: int) -> list[Path]:
    for index in range(count):
        args = ["run", "--model", f"toy:lr={0.1 * (index + 1):.1f}", "--data", "dots", "--steps", "6", "-n", "4",
                "--out", str(out), "--name", f"r{index}", "--post", "invert", "-q"]
        result = genart_cli(args, app=app)
        assert result.exit_code == 0, result.output
    return sorted(p for p in out.iterdir() if p.is_dir())


def test_run_report_is_self_contained(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    (run,) = make_runs(genart_cli, toy_app, tmp_path / "runs", 1)
    links = check_page(run / "report.html")
    assert {"grid.png", "comparison.png", "progress.png", "curves.png"} <= set(links.images)
    text = (run / "report.html").read_text()
    assert "model.params.lr" in text and "train_s" in text, "manifest table and timings"


def test_run_report_shows_eval_figures(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    (run,) = make_runs(genart_cli, toy_app, tmp_path / "runs", 1)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["metrics"] = {"eval": {"dots:split=test": {"bits_per_dim": 3.25, "nll": 123.0}}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert genart_cli(["report", str(run)], app=toy_app).exit_code == 0
    text = (run / "report.html").read_text()
    assert "bits_per_dim" in text and "3.25" in text


def test_compare_report_puts_three_runs_side_by_side(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    runs = make_runs(genart_cli, toy_app, tmp_path / "runs", 3)
    page = tmp_path / "pages" / "compare.html"
    result = genart_cli(["report", *map(str, runs), "--out", str(page)], app=toy_app)
    assert result.exit_code == 0, result.output
    links = check_page(page)
    assert sum(src.endswith("grid.png") for src in links.images) == 3
    assert links.highlighted >= 2, "model.spec and model.params.lr differ"
    text = page.read_text()
    assert all(run.name in text for run in runs)
    again = genart_cli(["report", *map(str, runs), "--out", str(page)], app=toy_app)
    assert again.exit_code == 2 and "already exists" in again.output


def test_runs_table_and_json(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    runs = make_runs(genart_cli, toy_app, tmp_path / "runs", 2)
    table = genart_cli(["runs", str(tmp_path / "runs")], app=toy_app)
    assert table.exit_code == 0 and all(run.name in table.output for run in runs) and "mse" in table.output
    rows = json.loads(genart_cli(["runs", str(tmp_path / "runs"), "--json"], app=toy_app).output)
    assert [r["run"] for r in rows] == [r.name for r in runs] and rows[0]["steps"] == "6"
    assert genart_cli(["runs", str(tmp_path / "none")], app=toy_app).exit_code == 2


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.slow
def test_report_renders_in_headless_chromium(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (Debian: apt-get install chromium); the headless render test needs one")
    runs = make_runs(genart_cli, toy_app, tmp_path / "runs", 3)
    page = tmp_path / "compare.html"
    assert genart_cli(["report", *map(str, runs), "--out", str(page)], app=toy_app).exit_code == 0
    for html_file in (runs[0] / "report.html", page):
        shot = tmp_path / f"{html_file.parent.name}-{html_file.stem}.png"
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,1600",
                   "--virtual-time-budget=3000", html_file.resolve().as_uri()]
        done = subprocess.run(command, capture_output=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
        assert done.returncode == 0 and shot.is_file(), done.stderr.decode()[-2000:]
        from PIL import Image

        with Image.open(shot) as image:
            colours = image.convert("RGB").resize((64, 64)).getcolors(64 * 64)
        assert colours is not None and len(colours) > 20, "the page rendered pictures, not a blank"
        check_page(html_file)


def test_sample_figures_of_genart_eval_show_in_runs_and_the_report(genart_cli: Any, toy_app: App,
                                                                     tmp_path: Path) -> None:
    """Before: precision / recall / diversity / FD that genart eval records (metrics.sample_eval) showed nowhere."""
    (run,) = make_runs(genart_cli, toy_app, tmp_path / "runs", 1)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["metrics"] = {"eval": {"dots:split=test": {"bits_per_dim": 3.25}},
                           "sample_eval": {"dots:split=test": {
                               "model": {"precision": 0.7123, "recall": 0.5234, "diversity": 0.97, "fd": 3.61},
                               "floor": {"precision": 0.9, "recall": 0.9, "diversity": 1.0, "fd": 0.5}}}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    table = genart_cli(["runs", str(tmp_path / "runs")], app=toy_app)
    assert "precision 0.7123" in table.output and "recall 0.5234" in table.output and "fd 3.61" in table.output
    assert genart_cli(["report", str(run)], app=toy_app).exit_code == 0
    text = (run / "report.html").read_text()
    assert all(word in text for word in ("recall", "0.5234", "diversity", "0.97", "3.61", "3.25"))


def test_run_report_shows_real_images_beside_labelled_samples_and_a_large_comparison(
        genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    """The page showed the before/after comparison at its own 284 px with no labels, and no training image:
    now real.png (training images picked at random) sits beside the samples, and the comparison is shown at
    a whole multiple (up to 8x, about 900 px: a 16-sample grid's 284 px comparison shows at 852) under
    "before" / "after: <chain>" labels."""
    from PIL import Image

    (run,) = make_runs(genart_cli, toy_app, tmp_path / "runs", 1)
    assert (run / "real.png").is_file()
    with Image.open(run / "real.png") as real, Image.open(run / "comparison.png") as comparison:
        assert real.width > 8 and comparison.width < 400
        comparison_width = comparison.width
    text = (run / "report.html").read_text()
    links = check_page(run / "report.html")
    assert "real.png" in links.images and "grid.png" in links.images
    assert text.index('src="grid.png"') < text.index('src="real.png"') < text.index('src="comparison.png"')
    assert "before: raw samples" in text and "after: invert" in text
    shown = int(text.split('src="comparison.png"')[1].split('width="')[1].split('"')[0])
    assert shown == comparison_width * min(8, 900 // comparison_width) and shown >= 400
