"""The per-class half of ``genart eval``: for a model that trained on labels (genart.Conditional), draw
samples of each class and score them against that class's held-out images, record the figures and write
the per-class grid (one row per class, its name before it) into the run folder.

The figures are those of sample_eval.py (precision, recall, diversity, FD), each class against one half
of its own held-out images, beside the real-vs-real floor of the class's two halves, and their unweighted
average over classes, so a model that draws every class alike (ignoring the label it was asked for) scores
well overall but badly here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from genart import GenartError, UsageError
from genart.api import sample_classes
from genart.images import class_grid, save_image

from .records import save_metrics
from .sample_metrics import (
    COMPONENTS,
    FEATURE_SIZE,
    NEAREST,
    average_figures,
    evaluate_classes,
)

SECTION = "class_eval"
#: the per-class grid genart eval writes into the run folder (the run report shows it)
GRID = "classes.png"
#: samples per row of that grid
GRID_COLUMNS = 8
#: tiles smaller than this are enlarged (nearest neighbour, a whole factor) so the names stay in proportion
MIN_TILE = 48
KEYS = ("precision", "recall", "diversity", "fd")


def trained_classes(model: Any, manifest: dict[str, Any]) -> list[str] | None:
    """The class names a run's model trained on, or None when it trained unconditionally (no labels in
    its data, or a model that takes none)."""
    from genart import Conditional

    labels = manifest.get("labels") or {}
    if not labels.get("conditional") or not labels.get("names") or not isinstance(model, Conditional):
        return None
    return [str(name) for name in labels["names"]]


def per_class_counts(labels: Any, classes: int, samples: int | None) -> list[int]:
    """Samples to draw per class: half the class's held-out images (as the overall figures draw half of
    all of them), or ``samples`` shared evenly; at least k + 1 where the class can be scored at all."""
    import torch

    real = torch.bincount(labels, minlength=classes).tolist()
    if samples is None:
        return [count // 2 if count >= 2 * (NEAREST + 1) else 0 for count in real]
    each = max(NEAREST + 1, samples // max(1, classes))
    return [each if count >= 2 * (NEAREST + 1) else 0 for count in real]


def class_figures(model: Any, name: str, run_dir: Path, images: Any, labels: Any, names: Sequence[str],
                  data_spec: str, *, samples: int | None, seed: int) -> dict[str, Any]:
    """Score each class's samples against that class's images (uint8, ``labels`` int64), record them under
    metrics.class_eval[data_spec], write ``RUN/classes.png`` and print the table."""
    import torch

    counts = per_class_counts(labels, len(names), samples)
    if not any(counts):
        raise UsageError(f"no class of {data_spec!r} has the {2 * (NEAREST + 1)} held-out images the per-class "
                         "figures need")
    asked = torch.repeat_interleave(torch.arange(len(names)), torch.tensor(counts))
    started = time.perf_counter()
    drawn = sample_classes(model, asked, seed)
    sampling_s = time.perf_counter() - started
    if not bool(drawn.isfinite().all()):
        raise GenartError(f"model {name!r} sampled non-finite images")
    figures = evaluate_classes(images, labels, drawn, asked, len(names))
    real = torch.bincount(labels, minlength=len(names)).tolist()
    record: dict[str, Any] = {
        "data": data_spec, "seed": seed, "guidance": _guidance(model),
        "features": f"pixels {FEATURE_SIZE}x{FEATURE_SIZE} + PCA {COMPONENTS} of all the held-out images",
        "classes": {names[c]: {"real": real[c], "samples": counts[c], "model": _rounded(f["model"]),
                               "floor": _rounded(f["floor"])} for c, f in figures.items()},
        "skipped": [names[c] for c in range(len(names)) if c not in figures],
        "average": {part: _rounded(values) for part, values in average_figures(figures).items()},
        "sampling_s": round(sampling_s, 2), "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    save_metrics(run_dir, data_spec, record, SECTION)
    rows = [drawn[asked == c][:GRID_COLUMNS] for c in range(len(names)) if counts[c]]
    save_image(class_grid(enlarged(rows), [names[c] for c in range(len(names)) if counts[c]]), run_dir / GRID,
               overwrite=True, recipe={"what": "genart eval per-class grid", "data": data_spec, "seed": seed})
    click.echo(format_classes(name, record))
    return record


def enlarged(rows: list[Any], min_tile: int = MIN_TILE) -> list[Any]:
    """``rows`` of images enlarged by the whole factor that brings their side to at least ``min_tile``."""
    import torch.nn.functional as F

    side = max(rows[0].shape[-2:]) if rows else min_tile
    factor = -(-min_tile // side)
    return [F.interpolate(row, scale_factor=factor, mode="nearest") if factor > 1 and row.shape[0] else row
            for row in rows]


def _guidance(model: Any) -> float | None:
    from genart import Guided

    return float(model.guidance) if isinstance(model, Guided) else None


def _rounded(figures: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 4) if math.isfinite(value) else value for key, value in figures.items()}


def format_classes(name: str, record: dict[str, Any]) -> str:
    """One line per class and the average: the model's four figures, then the class's real-vs-real floor."""
    guidance = "" if record.get("guidance") is None else f", guidance {record['guidance']:g}"
    width = max([len("average"), *(len(c) for c in record["classes"])])
    head = "".join(f"{key:>10}" for key in KEYS)
    lines = [f"{name} per class on {record['data']} (each class's samples vs half its held-out images{guidance})",
             f"  {'class':<{width}} {'real':>5} {'drawn':>5}{head}   floor:{head}"]
    rows = [*record["classes"].items(), ("average", {"real": "", "samples": "", **record["average"]})]
    for label, entry in rows:
        model = "".join(f"{entry['model'][key]:>10.3f}" for key in KEYS)
        floor = "".join(f"{entry['floor'][key]:>10.3f}" for key in KEYS)
        lines.append(f"  {label:<{width}} {entry['real']!s:>5} {entry['samples']!s:>5}{model}         {floor}")
    if record["skipped"]:
        lines.append(f"  too few held-out images to score: {', '.join(record['skipped'])}")
    return "\n".join(lines)
