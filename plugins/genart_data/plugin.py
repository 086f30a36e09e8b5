"""Registers the built-in datasets. Kept light: heavy imports happen inside the factories."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

import genart
from genart import DatasetParams, Register, param


@dataclass
class ShapesParams(DatasetParams):
    """Procedural compositions of coloured geometric shapes; the same seed gives the same images."""

    count: int = param(4096, "number of images")
    seed: int = param(0, "seed of the procedural generator")
    min_shapes: int = param(1, "fewest shapes per image")
    max_shapes: int = param(3, "most shapes per image")
    labels: Literal["none", "largest"] = param("none", "none, or largest: label each image by its largest shape's "
                                                       "kind (circle, square, triangle, bar)")

    def validate(self) -> None:
        if self.count < 1:
            raise ValueError("count must be >= 1")
        if not 1 <= self.min_shapes <= self.max_shapes:
            raise ValueError("need 1 <= min_shapes <= max_shapes")


def expand_user(path: str) -> str:
    """``~/Pictures`` -> the user's home folder, as a shell would (a quoted ``~`` reaches us unexpanded)."""
    return os.path.expanduser(path) if path.startswith("~") else path


@dataclass
class FolderParams(DatasetParams):
    """Every image file under a folder (recursively), sorted by path; unreadable files are skipped and counted."""

    path: str = param("", "folder of images (searched recursively)")
    fit: Literal["crop", "pad"] = param("crop", "crop: centre-crop to a square; pad: fit inside and pad with white")
    cache: bool = param(True, "decode once into a memory-mapped cache file (GENART_CACHE_DIR, default "
                              "~/.cache/genart), reused until a file changes")
    size: int = param(0, "side a model trains at when it does not set image_size (0: the images' typical "
                         "short side, from 28 up to 64 px)")
    background: str = param("white", "colour transparent pixels are laid on when the model has no alpha: "
                                     "white, black or #rrggbb")
    labels: Literal["none", "folders"] = param("none", "none, or folders: label each image by the first-level "
                                                       "sub-folder it is in (every image must be in one)")

    def __post_init__(self) -> None:
        self.path = expand_user(self.path)

    def validate(self) -> None:
        if not self.path:
            raise ValueError("needs path=DIR")
        if self.size < 0:
            raise ValueError("size must be >= 0 (0: from the images)")
        from .background import parse_background

        parse_background(self.background)


@dataclass
class MNISTParams(DatasetParams):
    """MNIST-format IDX files (``*-images-idx3-ubyte[.gz]``), e.g. the original MNIST or Fashion-MNIST."""

    path: str = param("", "folder holding the IDX files")
    which: Literal["auto", "train", "t10k"] = param("auto", "which file set: train, t10k, or auto (train if present)")
    limit: int = param(0, "use only the first N images (0: all)")
    labels: Literal["digits", "none"] = param("digits", "digits: each image's label from the labels IDX file "
                                                        "(classes 0-9); none: unlabelled")

    def __post_init__(self) -> None:
        self.path = expand_user(self.path)

    def validate(self) -> None:
        if not self.path:
            raise ValueError("needs path=DIR")
        if self.limit < 0:
            raise ValueError("limit must be >= 0")


def build_folder(params: FolderParams, context: Any) -> Any:
    from .folder import FolderDataset

    return FolderDataset(params)


def build_mnist(params: MNISTParams, context: Any) -> Any:
    from .mnist import MNISTDataset

    return MNISTDataset(params)


def build_shapes(params: ShapesParams, context: Any) -> Any:
    from .shapes import ShapesDataset

    return ShapesDataset(params)


@genart.hookimpl
def register_datasets(register: Register) -> None:
    register("shapes", build_shapes, params=ShapesParams,
             description="procedural coloured shapes (the embedded default; needs no files)")
    register("folder", build_folder, params=FolderParams,
             description="a folder of image files (recursive; EXIF, grey, alpha, 16-bit and CMYK handled)")
    register("mnist", build_mnist, params=MNISTParams, description="MNIST-format IDX files, gzipped or not")
