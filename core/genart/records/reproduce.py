"""Make an image again from the recipe it carries, and say whether the bytes match.

The recipe names every input by path *and* SHA-256: a file is used only when its content is the
one the image was made from, found at its recorded path, beside the image (or its run folder), or
in a folder given with ``--inputs``. The regenerated PNG is written with the original recipe text,
so on the same device, with the same versions, the whole file is byte-identical; across devices
(CPU vs CUDA, other CPU kernels) the pixels may differ in the last bit, which the report says.

Recipes of samples, grids and ``genart post`` outputs are reproduced here; a plugin that writes
its own images (``genart stylize``) names its reproducer in the recipe (``"reproducer":
"package.module:function"``), which is called only when that package is a loaded plugin's.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .recipe import base_recipe, file_entry, files_in, read_recipe_text, sha256_file

SAMPLE_KINDS = ("sample", "grid", "grid-raw", "comparison")


# -- what the writers record ------------------------------------------------------------------------
def post_params(context: Any, post: Any) -> dict[str, Any]:
    from ..contract.components import resolve_params
    from ..contract.params import params_to_dict
    from ..contract.registry import POST

    return {spec: params_to_dict(resolve_params(context, POST, spec)) for spec in post}


def run_recipe(app: Any, context: Any, manifest: dict[str, Any], checkpoint: Path) -> dict[str, Any]:
    """What every image made from a run's checkpoint records (snapshots add their step, samples their index)."""
    from ..runner.context import precision_label, versions

    return {
        "run": str(checkpoint.parent.resolve()),
        "model": {"spec": manifest["model"]["spec"], "params": manifest["model"].get("params", {})},
        "data": manifest.get("data", {}).get("spec"),
        "seed": manifest.get("seed", 0),
        "device": str(context.device),
        "precision": precision_label(context),
        "versions": versions(app),
    }


def sample_recipe(app: Any, context: Any, manifest: dict[str, Any], checkpoint: Path, post: Any, seed: int,
                  n: int) -> dict[str, Any]:
    params = post_params(context, post)
    fields = {**run_recipe(app, context, manifest, checkpoint), "checkpoint": file_entry(checkpoint), "seed": seed,
              "num_samples": n, "post": list(post), "post_params": params,
              "files": files_in([params, manifest["model"].get("params", {})])}
    return base_recipe("sample", **fields)


def post_recipe(app: Any, context: Any, post: Any) -> dict[str, Any]:
    """A ``genart post`` output's recipe, less its ``input`` (added per file)."""
    from ..runner.context import precision_label, versions

    params = post_params(context, post)
    return base_recipe("post", post=list(post), post_params=params,
                       files=files_in(params), device=str(context.device), precision=precision_label(context),
                       batch_size=1, versions=versions(app))


# -- finding inputs ---------------------------------------------------------------------------------
@dataclass
class Locator:
    """Finds a recipe's input file by content: recorded path, beside the image, or in ``--inputs`` folders."""

    image: Path
    folders: tuple[Path, ...] = ()

    def find(self, entry: dict[str, str], what: str) -> Path:
        recorded = Path(entry["path"])
        name = recorded.name
        candidates = [recorded]
        for folder in (*self.folders, self.image.parent, self.image.parent.parent):
            candidates.append(folder / name)
        for candidate in candidates:
            if candidate.is_file() and sha256_file(candidate) == entry["sha256"]:
                return candidate
        for folder in self.folders:  # renamed files: match by content alone
            for candidate in sorted(folder.iterdir()) if folder.is_dir() else ():
                if candidate.is_file() and sha256_file(candidate) == entry["sha256"]:
                    return candidate
        seen = " (a file is there, but its content differs)" if recorded.is_file() else ""
        raise UsageError(f"the {what} {recorded}{seen} is needed (sha256 {entry['sha256'][:12]}...); "
                         "put it back or give --inputs DIR")


# -- reproducing ------------------------------------------------------------------------------------
@dataclass
class Outcome:
    path: Path
    identical: bool
    same_pixels: bool
    max_difference: int


def reproduce(app: Any, image: Path, out_dir: Path, *, device: str | None = None, inputs: tuple[Path, ...] = (),
              overwrite: bool = False) -> Outcome:
    """Regenerate ``image`` into ``out_dir`` (same file name) from its recipe and compare it with the original."""
    from ..images import save_image

    text = read_recipe_text(image)
    recipe = json.loads(text)
    kind = recipe.get("kind")
    locator = Locator(Path(image), tuple(Path(p) for p in inputs))
    target = Path(out_dir) / Path(image).name
    if target.resolve() == Path(image).resolve():
        raise UsageError("--out must not be the folder the image is in (it would replace the original)")
    if target.exists() and not overwrite:
        raise UsageError(f"{target} already exists (use --overwrite to replace it)")
    if recipe.get("reproducer"):
        tensor = _plugin_reproducer(app, recipe["reproducer"])(app, recipe, locator, device)
    elif kind in SAMPLE_KINDS:
        tensor = _reproduce_sample(app, recipe, locator, device)
    elif kind == "post":
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        _reproduce_post(app, recipe, locator, device, target, text)
        return compare(Path(image), target)
    else:
        raise UsageError(f"{image}: a {kind!r} image cannot be reproduced from its recipe "
                         "(only samples, grids, post outputs and plugin images that name a reproducer)")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    save_image(tensor, target, overwrite=True, recipe=text)
    return compare(Path(image), target)


def compare(original: Path, copy: Path) -> Outcome:
    import numpy as np
    from PIL import Image

    identical = original.read_bytes() == copy.read_bytes()
    with Image.open(original) as a, Image.open(copy) as b:
        left, right = np.asarray(a.convert("RGBA")), np.asarray(b.convert("RGBA"))
    if left.shape != right.shape:
        return Outcome(copy, identical, False, 255)
    difference = int(np.abs(left.astype(np.int16) - right.astype(np.int16)).max()) if left.size else 0
    return Outcome(copy, identical, difference == 0, difference)


def _context(app: Any, recipe: dict[str, Any], device: str | None) -> Any:
    from ..runner.context import make_context

    return make_context(app, device or recipe.get("device", "cpu"), recipe.get("precision", "fp32"))


def _reproduce_sample(app: Any, recipe: dict[str, Any], locator: Locator, device: str | None) -> Any:
    from ..loop.checkpoints import restore_checkpoint
    from ..runner.pipeline import build_chain, build_model
    from ..runner.sampling import render_samples

    context = _context(app, recipe, device)
    checkpoint = locator.find(recipe["checkpoint"], "checkpoint")
    _check_files(recipe, locator)
    import torch

    torch.manual_seed(int(recipe.get("seed", 0)))
    model = build_model(context, recipe["model"]["spec"])
    plan = _restore_labels(model, recipe)
    restore_checkpoint(model, checkpoint)
    chain = build_chain(context, recipe.get("post", []))
    wanted: dict[int, Any] = {}

    def keep(index: int, image: Any) -> None:
        if recipe["kind"] == "sample" and index == int(recipe["index"]):
            wanted[index] = image

    if plan is not None:  # a --label request: its samples and its class grid
        from ..runner.class_samples import render_labelled

        grid = render_labelled(model, chain, plan, int(recipe["seed"]), context.device, keep)
        return wanted[int(recipe["index"])] if recipe["kind"] == "sample" else grid
    pictures = render_samples(model, chain, int(recipe["num_samples"]), int(recipe["seed"]), context.device, keep)
    if recipe["kind"] == "sample":
        return wanted[int(recipe["index"])]
    if recipe["kind"] not in pictures:
        raise UsageError(f"the recipe asks for a {recipe['kind']} but its chain makes none")
    return pictures[recipe["kind"]]


def _restore_labels(model: Any, recipe: dict[str, Any]) -> Any:
    """A conditional model's classes and guidance as the recipe records them (before its checkpoint is
    loaded); the recipe's label plan, or None."""
    if not recipe.get("classes"):
        return None
    from ..runner.class_samples import LabelPlan, set_guidance
    from ..runner.labelled import restore_classes

    names = restore_classes(model, {"labels": {"names": recipe["classes"], "conditional": True}})
    set_guidance(model, recipe.get("guidance"))
    return LabelPlan.from_recipe(recipe["labels"], names or []) if recipe.get("labels") else None


def _reproduce_post(app: Any, recipe: dict[str, Any], locator: Locator, device: str | None, target: Path,
                    text: str) -> None:
    """Written the way ``genart post`` wrote it (band by band where it did), so the bytes can match."""
    from ..images import load_image, save_image
    from ..runner.pipeline import apply_chain, build_chain
    from ..runner.streamed import save_streamed, streams_into

    context = _context(app, recipe, device)
    source = locator.find(recipe["input"], "input image")
    _check_files(recipe, locator)
    chain = build_chain(context, recipe["post"])
    image = load_image(source)[None]
    if streams_into(chain, source, target):
        save_streamed(chain, image, context.device, target, text)
        return
    result = apply_chain(chain, image, context.device, batch_size=int(recipe.get("batch_size", 1)))[0]
    save_image(result, target, overwrite=True, recipe=text)


def _check_files(recipe: dict[str, Any], locator: Locator) -> None:
    """Weights and other files named in the parameters must still hold what they held."""
    for entry in recipe.get("files", {}).values():
        if locator.find(entry, "file").resolve() != Path(entry["path"]):
            raise UsageError(f"{entry['path']} has moved; the recipe's parameters name it by path, so restore it there")


def _plugin_reproducer(app: Any, reference: str) -> Callable[..., Any]:
    module_name, _, function = reference.partition(":")
    allowed = {"genart"} | {record.module.split(".")[0] for record in app.records.values()
                            if record.status == "loaded" and record.module}
    if module_name.split(".")[0] not in allowed or not function:
        raise UsageError(f"the recipe names reproducer {reference!r}, which is not part of a loaded plugin")
    func = getattr(importlib.import_module(module_name), function, None)
    if not callable(func):
        raise UsageError(f"reproducer {reference!r} not found (is the plugin's version the same?)")
    return func  # type: ignore[no-any-return]
