"""Hook implementations. This module stays light (no torch import) so `genart --help` stays fast."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import genart
from genart import DatasetParams, Register, param

#: the genart plugin API this plugin is written for (checked when it loads; see CHANGELOG.md)
GENART_PLUGIN_API = "2.0"


@dataclass
class PosterizeParams:
    """Reduce each channel to a few levels, like a screen print."""

    levels: int = param(4, "number of levels per channel (2-256)")

    def validate(self) -> None:
        if not 2 <= self.levels <= 256:
            raise ValueError("levels must be between 2 and 256")


@dataclass
class StripesParams(DatasetParams):
    """Diagonal stripes in random colours; the same seed gives the same images."""

    count: int = param(64, "number of images")
    seed: int = param(0, "random seed")


def build_posterize(params: PosterizeParams, context: Any) -> Any:
    from .posterize import Posterize

    return Posterize(params.levels)


def build_stripes(params: StripesParams, context: Any) -> Any:
    from .stripes import Stripes

    return Stripes(params.count, params.seed)


@genart.hookimpl
def register_post_processors(register: Register) -> None:
    register("posterize", build_posterize, params=PosterizeParams, description="reduce colours to a few levels")


@genart.hookimpl
def register_datasets(register: Register) -> None:
    register("stripes", build_stripes, params=StripesParams, description="diagonal stripes in random colours")
