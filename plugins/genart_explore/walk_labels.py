"""``genart walk --label``: the class a conditional model draws along a walk. One label keeps the whole
walk in that class; two blend from the first to the second, smoothly around the loop (first, second,
back to first) and from left to right across each grid row, so the picture shows the class changing while
the latent stays put along a column and the latent changing along a row's neighbours."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from genart import ConditionalDecoder, UsageError
from genart.api import recorded_classes, resolve_labels, set_guidance


def walk_classes(model: Any, manifest: dict[str, Any], labels: Sequence[str],
                 guidance: float | None) -> tuple[list[int], int] | None:
    """The asked classes (one or two) and the number of classes, with the model's guidance set; None
    without ``--label``. One-line errors for a run without labels, an unknown label or more than two."""
    names = recorded_classes(manifest)
    if not labels:
        if guidance is not None and not names:
            _no_labels("--guidance")
        set_guidance(model, guidance)
        return None
    if not names:
        _no_labels("--label")
    assert names is not None
    if not isinstance(model, ConditionalDecoder):
        raise UsageError(f"model {manifest['model']['name']!r} cannot decode latents under a class "
                         "(it needs decode_labelled)")
    classes = resolve_labels(labels, names)
    if not 1 <= len(classes) <= 2:
        raise UsageError(f"--label: one class (a walk within it) or two (a walk between them), not {len(classes)}")
    set_guidance(model, guidance)
    return classes, len(names)


def _no_labels(option: str) -> None:
    raise UsageError(f"{option}: this run's model trained without labels")


def loop_weights(classes: list[int], count: int, frames: int) -> Any:
    """Class weights ``[frames, count]`` around the loop: the first class, blending to the second halfway
    and back (a raised cosine, so the change is smooth where the loop closes)."""
    import torch

    share = (1 - torch.cos(2 * math.pi * torch.arange(frames, dtype=torch.float64) / frames)) / 2
    return _blend(classes, count, share)


def row_weights(classes: list[int], count: int, rows: int, columns: int) -> Any:
    """Class weights ``[rows * columns, count]`` for the grid: each row goes from the first class (left)
    to the second (right)."""
    import torch

    share = torch.linspace(0, 1, columns, dtype=torch.float64).repeat(rows)
    return _blend(classes, count, share)


def _blend(classes: list[int], count: int, share: Any) -> Any:
    import torch

    weights = torch.zeros(share.shape[0], count, dtype=torch.float32)
    second = classes[-1]
    weights[:, classes[0]] += (1 - share).float()
    weights[:, second] += share.float()
    return weights
