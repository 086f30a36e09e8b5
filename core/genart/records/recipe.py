"""Recipes: how a PNG was made, carried in the PNG itself.

Every PNG genart writes holds an iTXt chunk ``genart`` with a JSON recipe (command line, resolved
parameters, seed and sample index, versions, device, precision, SHA-256 of the checkpoint and of
every input file) and a ``Software`` tEXt chunk. ``genart recipe FILE`` prints it and
``genart reproduce FILE`` (see :mod:`genart.records.reproduce`) makes the image again from it. The recipe
travels with the file, so a sample that leaves its run folder still says how it was made.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError

RECIPE_KEY = "genart"
FORMAT = "genart-recipe-1"


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: str | os.PathLike[str]) -> dict[str, str]:
    """A file named in a recipe: its absolute path and content hash."""
    file = Path(path)
    return {"path": str(file.resolve()), "sha256": sha256_file(file)}


def command_line() -> list[str]:
    return ["genart", *sys.argv[1:]] if sys.argv else []


def base_recipe(kind: str, **fields: Any) -> dict[str, Any]:
    """The fields every recipe has; ``fields`` add or override."""
    import torch

    from ..version import __version__

    recipe: dict[str, Any] = {
        "format": FORMAT,
        "kind": kind,
        "command": command_line(),
        "versions": {"genart": __version__, "torch": torch.__version__, "python": platform.python_version()},
    }
    recipe.update(fields)
    return recipe


def files_in(params: Any) -> dict[str, dict[str, str]]:
    """Hash every existing file a (nested) parameter dict names, e.g. a weights file."""
    found: dict[str, dict[str, str]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, (str, os.PathLike)) and str(value) and len(str(value)) < 4096:
            file = Path(value)
            try:
                if file.is_file():
                    found[str(file.resolve())] = file_entry(file)
            except OSError:
                pass

    walk(params)
    return found


def dumps(recipe: dict[str, Any]) -> str:
    return json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str)


def png_info(recipe_text: str) -> Any:
    """The PngInfo for a recipe given as its JSON text (reproduce passes the original text unchanged)."""
    from PIL.PngImagePlugin import PngInfo

    from ..version import __version__

    info = PngInfo()
    info.add_text("Software", f"genart {__version__}")
    info.add_itxt(RECIPE_KEY, recipe_text)
    return info


def matplotlib_metadata(recipe: dict[str, Any]) -> dict[str, str]:
    from ..version import __version__

    return {"Software": f"genart {__version__}", RECIPE_KEY: dumps(recipe)}


def read_recipe_text(path: str | os.PathLike[str]) -> str:
    from PIL import Image

    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{file}: no such file")
    try:
        with Image.open(file) as image:
            text = getattr(image, "text", None) or image.info
            value = text.get(RECIPE_KEY)
    except Exception as error:  # Pillow raises many types for non-images
        raise UsageError(f"{file}: cannot read image ({type(error).__name__})") from None
    if not isinstance(value, str):
        raise UsageError(f"{file} carries no genart recipe")
    return value


def read_recipe(path: str | os.PathLike[str]) -> dict[str, Any]:
    text = read_recipe_text(path)
    try:
        recipe = json.loads(text)
    except ValueError:
        raise UsageError(f"{path}: its genart recipe is not valid JSON") from None
    if not isinstance(recipe, dict):
        raise UsageError(f"{path}: its genart recipe is not a JSON object")
    return recipe
