"""The recipe ``genart stylize`` stores in its PNG, and how ``genart reproduce`` uses it.

The recipe holds every resolved StyleParams field, the content and style images and the encoder
weights by path and SHA-256; reproducing rebuilds the same transfer on the recorded device.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from genart import UsageError

REPRODUCER = "genart_style.recipe:reproduce"


def stylize_recipe(app: Any, params: Any, content: Path, context: Any) -> dict[str, Any]:
    from genart.api import base_recipe, file_entry, params_to_dict, precision_label, versions

    fields = params_to_dict(params)
    fields.pop("progress", None)
    return base_recipe("stylize", reproducer=REPRODUCER, params=fields, content=file_entry(content),
                       styles=[file_entry(p) for p in params.image],
                       encoder_weights=file_entry(params.encoder_weights) if params.encoder_weights else None,
                       device=str(context.device), precision=precision_label(context), versions=versions(app))


def reproduce(app: Any, recipe: dict[str, Any], locator: Any, device: str | None) -> Any:
    """The stylised image of ``recipe``, made again with the same inputs (found by content)."""
    from genart.api import make_context
    from genart.images import load_image

    from .factories import build_style
    from .params import StyleParams

    known = {f.name for f in dataclasses.fields(StyleParams)}
    values = dict(recipe["params"])
    unknown = sorted(set(values) - known)
    if unknown:
        raise UsageError(f"the recipe has style parameters this plugin version lacks: {', '.join(unknown)}")
    values["image"] = [locator.find(entry, "style image") for entry in recipe["styles"]]
    weights = recipe.get("encoder_weights")
    values["encoder_weights"] = locator.find(weights, "encoder weights file") if weights else None
    params = StyleParams(**{**values, "progress": False})
    context = make_context(app, device or recipe.get("device", "cpu"), "fp32")
    processor = build_style(params, context)
    image = load_image(locator.find(recipe["content"], "content image"))
    return processor(image[None])[0]
