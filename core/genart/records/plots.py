"""The pictures of a run as a whole: ``curves.png`` (matplotlib) and ``progress.png`` (the snapshots in a strip)."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .runs import write_bytes_atomic

#: record fields that are bookkeeping, not curves
_NOT_CURVES = {"step", "time", "unix"}
#: at most this many snapshots in the progress strip (evenly spaced, the last always included)
STRIP_MAX = 12


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard-style exponential moving average with bias correction, so the start is not dragged to 0."""
    out: list[float] = []
    average, norm = 0.0, 0.0
    for value in values:
        if not math.isfinite(value):
            out.append(float("nan"))
            continue
        average = weight * average + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        out.append(average / norm)
    return out


def curve_names(records: Sequence[dict[str, Any]]) -> list[str]:
    """Numeric fields of the records in first-seen order (losses first, then the model's extras, then speed)."""
    names: list[str] = []
    for record in records:
        for key, value in record.items():
            if key not in _NOT_CURVES and key not in names and isinstance(value, (int, float)):
                names.append(key)
    if "images_per_second" in names:
        names.remove("images_per_second")
        names.append("images_per_second")
    return names


def draw_curves(records: Sequence[dict[str, Any]], path: str | os.PathLike[str], *, title: str = "",
                metadata: dict[str, str] | None = None) -> Path | None:
    """One panel per metric: raw values as faint points, a smoothed line over them. None without records."""
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    names = curve_names(records)
    if not names:
        return None
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = Figure(figsize=(4.2 * columns, 2.8 * rows), dpi=100, layout="constrained")
    weight = min(0.98, max(0.0, 1 - 20 / max(len(records), 1)))  # about a 20-point window, whatever the length
    for index, name in enumerate(names):
        axes = figure.add_subplot(rows, columns, index + 1)
        points = [(r["step"], float(r[name])) for r in records if isinstance(r.get(name), (int, float))]
        steps = [s for s, _ in points]
        values = [v for _, v in points]
        axes.scatter(steps, values, s=6, alpha=0.45, color="tab:blue", linewidths=0, label="raw")
        axes.plot(steps, smooth(values, weight), color="tab:orange", linewidth=1.6, label="smoothed")
        axes.set_title(name, fontsize=10)
        axes.set_xlabel("step", fontsize=8)
        axes.tick_params(labelsize=8)
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=11)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata=metadata or {})
    target = Path(path)
    write_bytes_atomic(target, buffer.getvalue())
    return target


def strip_choice(count: int, most: int = STRIP_MAX) -> list[int]:
    """Indices of at most ``most`` evenly spaced items out of ``count``, first and last included."""
    if count <= most:
        return list(range(count))
    return sorted({round(i * (count - 1) / (most - 1)) for i in range(most)})


def progress_strip(snapshots: Sequence[tuple[int, Path]]) -> Any:
    """The snapshots (step, file) side by side with their step written under each, as a PIL image."""
    from PIL import Image, ImageDraw

    chosen = [snapshots[i] for i in strip_choice(len(snapshots))]
    pictures = []
    for step, file in chosen:
        with Image.open(file) as image:
            pictures.append((step, image.convert("RGB")))
    gap, label = 6, 14
    height = max(p.height for _, p in pictures) + label
    width = sum(p.width for _, p in pictures) + gap * (len(pictures) - 1)
    strip = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(strip)
    left = 0
    for step, picture in pictures:
        strip.paste(picture, (left, 0))
        draw.text((left + 2, height - label + 1), f"step {step}", fill=(40, 40, 40))
        left += picture.width + gap
    return strip
