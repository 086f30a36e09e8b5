"""The pictures of a run as a whole: ``curves.png`` (matplotlib), ``progress.png`` (the snapshots in a
labelled strip, in rows) and ``real.png`` (training images to set beside the samples)."""

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
#: the training images the report shows beside the samples
REAL = "real.png"


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


#: the progress strip's snapshots are enlarged (whole multiples, nearest neighbour) to at least this height,
#: so a 16-sample grid of 28 px digits is not a 122 px thumbnail under an unreadable label
STRIP_MIN_HEIGHT = 256
#: snapshots per row of the progress strip
STRIP_COLUMNS = 6
#: size of the step labels in pixels (a TrueType font: the bitmap default is 11 px and was unreadable)
LABEL_SIZE = 24


def label_font(size: int = LABEL_SIZE) -> Any:
    """A TrueType font of ``size`` px: Pillow's bundled one (Pillow >= 10.1), else the bitmap default."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow older than 10.1: only the small bitmap font
        return ImageFont.load_default()


def progress_strip(snapshots: Sequence[tuple[int, Path]]) -> Any:
    """The snapshots (step, file) in order, at most ``STRIP_COLUMNS`` to a row, each enlarged to a readable
    height, with ``step N`` written in black on a light band under it, centred, as a PIL image. Rows keep
    the picture about as wide as a report page, which shows it without shrinking the labels much."""
    from PIL import Image, ImageDraw

    chosen = [snapshots[i] for i in strip_choice(len(snapshots))]
    pictures = []
    for step, file in chosen:
        with Image.open(file) as image:
            picture = image.convert("RGB")
        scale = max(1, -(-STRIP_MIN_HEIGHT // max(picture.height, 1)))
        if scale > 1:
            picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
        pictures.append((step, picture))
    font = label_font()
    gap, band = 12, LABEL_SIZE + 14
    cell_w, cell_h = max(p.width for _, p in pictures), max(p.height for _, p in pictures) + band
    columns = min(STRIP_COLUMNS, len(pictures))
    rows = -(-len(pictures) // columns)
    strip = Image.new("RGB", (columns * cell_w + gap * (columns - 1), rows * cell_h + gap * (rows - 1)), "white")
    draw = ImageDraw.Draw(strip)
    for index, (step, picture) in enumerate(pictures):
        row, column = divmod(index, columns)
        left, top = column * (cell_w + gap), row * (cell_h + gap)
        strip.paste(picture, (left, top))
        bottom = top + picture.height + band
        draw.rectangle((left, bottom - band, left + picture.width - 1, bottom - 1), fill=(236, 236, 236))
        draw.text((left + picture.width // 2, bottom - band // 2), f"step {step:,}", fill=(0, 0, 0), font=font,
                  anchor="mm")
    return strip


def write_real_grid(run_dir: Path, data: Any, seed: int, count: int = 64) -> Path:
    """``real.png``: ``count`` training images picked at random (seeded), so the report can show what the
    model learnt from beside what it draws."""
    import torch

    from ..images import make_grid, save_image

    pick = torch.randperm(int(data.shape[0]), generator=torch.Generator().manual_seed(seed))[:count]
    images = torch.as_tensor(data)[pick.sort().values]
    images = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    return save_image(make_grid(images), Path(run_dir) / REAL, overwrite=True)
