"""Registers the built-in datasets. Kept light: heavy imports happen inside the factories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import genart
from genart import DatasetParams, param


@dataclass
class ShapesParams(DatasetParams):
    """Procedural compositions of coloured geometric shapes; the same seed gives the same images."""

    count: int = param(4096, "number of images")
    seed: int = param(0, "seed of the procedural generator")
    min_shapes: int = param(1, "fewest shapes per image")
    max_shapes: int = param(3, "most shapes per image")

    def validate(self) -> None:
        if self.count < 1:
            raise ValueError("count must be >= 1")
        if not 1 <= self.min_shapes <= self.max_shapes:
            raise ValueError("need 1 <= min_shapes <= max_shapes")


def build_shapes(params: ShapesParams, context: Any) -> Any:
    from .shapes import ShapesDataset

    return ShapesDataset(params)


@genart.hookimpl
def register_datasets(register: Any) -> None:
    register("shapes", build_shapes, params=ShapesParams,
             description="procedural coloured shapes on soft backgrounds (embedded default, no files needed)")
