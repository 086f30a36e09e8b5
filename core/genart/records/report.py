"""``report.html``: one self-contained page per run, and one page comparing several runs.

The pages hold no scripts and nothing from the network: inline CSS, and images linked by relative
paths (so a run folder can be moved, zipped or served as it is). A run's page shows its grid,
before/after comparison, progress strip, curves, ``genart eval`` figures, timings and the whole
manifest as a table; the comparison page puts runs in columns, with the parameters that differ
highlighted and the grids, strips and curves aligned row by row.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .runs import MANIFEST, read_json, write_bytes_atomic

REPORT = "report.html"
#: the pictures a run may have, in page order, with their headings
PICTURES = (("grid.png", "samples"), ("real.png", "training images (64 at random)"),
            ("comparison.png", "before | after the post chain"),
            ("progress.png", "progress (snapshots during training)"), ("curves.png", "curves"))
#: pictures the run page lays out itself (samples beside real images, the labelled comparison)
_PAIRED = ("grid.png", "real.png", "comparison.png")
#: about how wide (px) the run page shows the before/after comparison (a whole multiple of its width)
COMPARISON_WIDTH = 900

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.2em; color: #222; }
h1 { font-size: 1.3em; margin-bottom: .2em; } h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; font-size: .85em; }
td, th { border: 1px solid #ccc; padding: .2em .5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
img { max-width: 100%; image-rendering: pixelated; border: 1px solid #ddd; }
img.plot { image-rendering: auto; }
.pair { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
.pair figure { margin: 0; }
figcaption, .halves { font-size: .95em; font-weight: 600; margin: .2em 0; }
.halves { display: flex; } .halves span { flex: 1; text-align: center; }
.compare { table-layout: fixed; width: 100%; }
.compare td img { width: 100%; }
tr.diff td { background: #fff3bf; font-weight: 600; }
.muted { color: #777; }
"""


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """A nested manifest as ``dotted.key -> text`` rows (lists stay one JSON cell)."""
    rows: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            rows.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    else:
        rows[prefix] = value if isinstance(value, str) else json.dumps(value, default=str)
    return rows


def _table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None, classes: Sequence[str] = ()) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for index, row in enumerate(rows):
        css = f' class="{classes[index]}"' if index < len(classes) and classes[index] else ""
        out.append(f"<tr{css}>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _link(image: Path, page_folder: Path) -> str:
    return Path(os.path.relpath(image.resolve(), page_folder.resolve())).as_posix()


def _img(image: Path, page_folder: Path, alt: str, width: int | None = None) -> str:
    """The picture, linked to itself so a click opens it at full size."""
    css = ' class="plot"' if image.name == "curves.png" else f' width="{width or _display_width(image)}"'
    link = html.escape(_link(image, page_folder), quote=True)
    return f'<a href="{link}"><img src="{link}" alt="{html.escape(alt, quote=True)}"{css}></a>'


def _display_width(image: Path, most: int = 420, largest: int = 4) -> int:
    """Small grids (16 samples of 32 px are 138 px wide) shown at a whole multiple (at most ``largest``), up
    to about ``most`` px."""
    from PIL import Image

    with Image.open(image) as picture:
        width = int(picture.width)
    return width * max(1, min(largest, most // max(width, 1)))


def _pictures(run_dir: Path, folder: Path, manifest: dict[str, Any]) -> list[str]:
    """The run page's pictures: the samples beside real training images at one width, the before/after
    comparison large with each half labelled, then the progress strip and the curves."""
    body: list[str] = []
    pair = [(run_dir / name, heading) for name, heading in PICTURES[:2] if (run_dir / name).is_file()]
    if pair:
        width = max(_display_width(image) for image, _ in pair)
        figures = [f"<figure><figcaption>{html.escape(heading)}</figcaption>{_img(image, folder, heading, width)}"
                   "</figure>" for image, heading in pair]
        body += ["<h2>samples and the images they learnt from</h2>", '<div class="pair">', *figures, "</div>"]
    comparison = run_dir / "comparison.png"
    if comparison.is_file():
        width = _display_width(comparison, COMPARISON_WIDTH, 8)
        chain = " → ".join(str(step) for step in manifest.get("post") or []) or "the post chain"
        body += ["<h2>before | after the post chain</h2>",
                 f'<div class="halves" style="width:{width}px"><span>before: raw samples</span>'
                 f"<span>after: {html.escape(chain)}</span></div>",
                 _img(comparison, folder, f"before | after {chain}", width)]
    for name, heading in PICTURES:
        if name not in _PAIRED and (run_dir / name).is_file():
            body += [f"<h2>{html.escape(heading)}</h2>", _img(run_dir / name, folder, heading)]
    return body


def eval_rows(manifest: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """``genart eval`` figures as a header and rows, one row per data spec: the likelihood figures (manifest
    metrics.eval) and the sample figures, precision / recall / diversity / FD of the model's samples
    (metrics.sample_eval, its ``model`` column; the real-vs-real floor stays in the manifest)."""
    metrics = manifest.get("metrics", {})
    per_spec: dict[str, dict[str, Any]] = {}
    for section, column in (("eval", "results"), ("sample_eval", "model")):
        for spec, record in (metrics.get(section) or {}).items():
            if not isinstance(record, dict):
                continue
            values = record.get(column, record if section == "eval" else {})
            numbers = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            per_spec.setdefault(spec, {}).update(numbers)
    names: list[str] = []
    for values in per_spec.values():
        names += [key for key in values if key not in names]
    rows = [[spec, *[_number(values.get(name)) for name in names]] for spec, values in per_spec.items()]
    return ["data", *names], rows


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def summary(run_dir: Path, manifest: dict[str, Any]) -> dict[str, str]:
    """The few facts a person compares first."""
    train = manifest.get("train", {})
    losses = manifest.get("losses", {})
    return {
        "run": run_dir.name,
        "created": str(manifest.get("created", "")),
        "status": str(manifest.get("status", "")),
        "model": str(manifest.get("model", {}).get("spec", "")),
        "data": str(manifest.get("data", {}).get("spec") or ""),
        "steps": str(train.get("steps_done", train.get("steps", ""))),
        "train time": _seconds(manifest.get("timings", {}).get("train_s")),
        "images/s": _number(train.get("images_per_second")),
        "last losses": ", ".join(f"{k} {_number(v)}" for k, v in losses.items()),
    }


def _seconds(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return ""
    minutes, seconds = divmod(float(value), 60)
    return f"{int(minutes)}m{seconds:04.1f}s" if minutes else f"{seconds:.1f}s"


def run_report(run_dir: Path, page_folder: Path | None = None) -> str:
    run_dir = Path(run_dir)
    folder = page_folder or run_dir
    manifest = read_json(run_dir / MANIFEST)
    facts = summary(run_dir, manifest)
    body = [f"<h1>{html.escape(run_dir.name)}</h1>",
            f"<p class=\"muted\">{html.escape(facts['model'])} on {html.escape(facts['data'])} · "
            f"{html.escape(facts['steps'])} steps · {html.escape(facts['status'])}</p>",
            _table([[k, v] for k, v in facts.items()])]
    body += _pictures(run_dir, folder, manifest)
    header, rows = eval_rows(manifest)
    if rows:
        body += ["<h2>eval</h2>", _table(rows, header)]
    timings = manifest.get("timings", {})
    if timings:
        body += ["<h2>timings</h2>", _table([[k, _number(v)] for k, v in timings.items()], ["step", "seconds"])]
    body += ["<h2>manifest</h2>", _table([[k, v] for k, v in flatten(manifest).items()], ["key", "value"])]
    return _page(f"genart run {run_dir.name}", body)


def write_run_report(run_dir: Path) -> Path:
    """``RUN/report.html``; genart's own file, so it is rewritten whenever the run changes."""
    target = Path(run_dir) / REPORT
    write_bytes_atomic(target, run_report(Path(run_dir)).encode())
    return target


#: manifest keys left out of the parameter comparison (they differ for every run and say nothing)
_NOT_PARAMETERS = ("created", "status", "losses", "timings", "metrics", "command", "train.images_per_second",
                   "train.steps_done", "data.images")


def compare_report(run_dirs: Sequence[Path], out_file: Path) -> str:
    """Runs side by side: parameters (differences highlighted), grids, strips, curves, losses, eval."""
    folder = Path(out_file).parent
    manifests = [read_json(Path(run) / MANIFEST) for run in run_dirs]
    flats = [flatten(m) for m in manifests]
    keys: list[str] = []
    for flat in flats:
        keys += [k for k in flat if k not in keys and not k.startswith(_NOT_PARAMETERS)]
    rows, classes = [], []
    for key in keys:
        values = [flat.get(key, "") for flat in flats]
        rows.append([key, *values])
        classes.append("diff" if len(set(values)) > 1 else "")
    names = [Path(run).name for run in run_dirs]
    width = "12%"
    body = [f"<h1>{len(run_dirs)} runs</h1>"]
    facts = [summary(Path(run), m) for run, m in zip(run_dirs, manifests, strict=True)]
    body.append(_compare_table([[k, *[f[k] for f in facts]] for k in facts[0] if k != "run"], names, width))
    for name, heading in PICTURES:
        cells = [_img(Path(run) / name, folder, f"{Path(run).name} {heading}") if (Path(run) / name).is_file()
                 else '<span class="muted">none</span>' for run in run_dirs]
        if not any("<img" in cell for cell in cells):
            continue
        body.append(f"<h2>{html.escape(heading)}</h2>")
        if name == "progress.png":  # long strips read better one above the other, at full width
            body += [f'<p class="muted">{html.escape(n)}</p>{cell}' for n, cell in zip(names, cells, strict=True)]
        else:
            body.append(_compare_row(cells, names, width))
    evals = [eval_rows(m) for m in manifests]
    if any(rows_ for _, rows_ in evals):
        cells = [_table(r, h) if r else '<span class="muted">none</span>' for h, r in evals]
        body += ["<h2>eval</h2>", _compare_row(cells, names, width)]
    body += ["<h2>parameters (differences highlighted)</h2>",
             _compare_table(rows, names, width, classes)]
    return _page("genart runs compared", body)


def _compare_table(rows: list[list[str]], names: list[str], width: str, classes: Sequence[str] = ()) -> str:
    out = ['<table class="compare">', _header(names, width)]
    for index, row in enumerate(rows):
        css = f' class="{classes[index]}"' if index < len(classes) and classes[index] else ""
        out.append(f"<tr{css}>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _compare_row(cells: list[str], names: list[str], width: str) -> str:
    return "\n".join(['<table class="compare">', _header(names, width),
                      "<tr><td></td>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>", "</table>"])


def _header(names: list[str], width: str) -> str:
    return (f'<tr><th style="width:{width}"></th>'
            + "".join(f"<th>{html.escape(name)}</th>" for name in names) + "</tr>")


def write_compare_report(run_dirs: Sequence[Path], out_file: Path, *, overwrite: bool = False) -> Path:
    from ..errors import UsageError

    target = Path(out_file)
    if target.exists() and not overwrite:
        raise UsageError(f"{target} already exists (use --overwrite to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(target, compare_report(run_dirs, target).encode())
    return target
