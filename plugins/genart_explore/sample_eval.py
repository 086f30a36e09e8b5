"""The sample half of ``genart eval``: draw samples, score them against held-out images, record, print."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import click

from genart import GenartError, GenerativeModel, UsageError
from genart.api import sample

from .records import save_metrics
from .sample_metrics import COMPONENTS, FEATURE_SIZE, NEAREST, evaluate_samples

SECTION = "sample_eval"
LABELS = {"precision": "precision (k=3)", "recall": "recall (k=3)", "diversity": "diversity ratio",
          "fd": "Frechet distance"}


def sample_figures(model: Any, name: str, run_dir: Path, images: Any, data_spec: str, *, samples: int | None,
                   seed: int) -> dict[str, Any]:
    """Score ``samples`` samples (default: half the held-out images) against ``images`` (uint8)."""
    if not isinstance(model, GenerativeModel):
        raise UsageError(f"model {name!r} cannot sample; use --samples 0 for the likelihood alone")
    half = images.shape[0] // 2
    count = half if samples is None else samples
    if half < NEAREST + 1:
        raise UsageError(f"the sample figures need at least {2 * (NEAREST + 1)} held-out images, "
                         f"{data_spec!r} has {images.shape[0]}")
    started = time.perf_counter()
    drawn = sample(model, count, seed)
    sampling_s = time.perf_counter() - started
    if not bool(drawn.isfinite().all()):
        raise GenartError(f"model {name!r} sampled non-finite images")
    try:
        figures = evaluate_samples(images, drawn, NEAREST, FEATURE_SIZE, COMPONENTS)
    except ValueError as error:
        raise UsageError(str(error)) from None
    record = {"data": data_spec, "real_images": int(images.shape[0]), "reference": int(images.shape[0] - half),
              "samples": count, "seed": seed, "features": f"pixels {FEATURE_SIZE}x{FEATURE_SIZE} + PCA {COMPONENTS}",
              "model": rounded(figures["model"]), "floor": rounded(figures["floor"]),
              "sampling_s": round(sampling_s, 2), "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    save_metrics(run_dir, data_spec, record, SECTION)
    click.echo(format_figures(name, data_spec, record))
    return record


def rounded(figures: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 4) if math.isfinite(value) else value for key, value in figures.items()}


def format_figures(name: str, data_spec: str, record: dict[str, Any]) -> str:
    width = max(len(label) for label in LABELS.values())
    lines = [f"{name} samples on {data_spec} ({record['samples']} samples vs {record['reference']} held-out "
             f"images; {record['features']})",
             f"  {'':<{width}}  {'model':>10}  {'real vs real':>12}"]
    for key, label in LABELS.items():
        lines.append(f"  {label:<{width}}  {record['model'][key]:>10.3f}  {record['floor'][key]:>12.3f}")
    return "\n".join(lines)
