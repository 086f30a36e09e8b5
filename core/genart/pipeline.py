"""The steps the runner chains: data -> model (train) -> samples -> post chain -> files.

Each step is a plain function so commands (and tests, and other programs) compose them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .components import build_component, resolve_params
from .errors import GenartError
from .params import DatasetParams, split_spec
from .protocols import BuildContext
from .registry import DATASET, MODEL, POST


def select_split(images: Any, params: Any) -> Any:
    """Apply the shared ``split``/``holdout`` dataset parameters to the full, ordered tensor."""
    if not isinstance(params, DatasetParams):
        return images
    n = images.shape[0]
    if params.holdout < 0 or params.holdout > n:
        raise GenartError(f"holdout={params.holdout} but the dataset has {n} images")
    if params.split == "train":
        return images[: n - params.holdout]
    if params.split == "test":
        if params.holdout == 0:
            raise GenartError("split=test needs holdout=N (the number of images to set aside)")
        return images[n - params.holdout:]
    return images


def load_data(context: BuildContext, spec: str, size: int, channels: int) -> Any:
    """Build the dataset from ``spec`` and decode it once into a uint8 tensor at the given size."""
    import torch

    request = split_spec(spec)
    params = resolve_params(context, DATASET, request)
    dataset = context.registry.get(DATASET, request.name).factory(params, context)
    images = dataset.load(size, channels)
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
        raise GenartError(f"dataset {request.name!r} returned {type(images).__name__}, expected uint8 [N,C,H,W]")
    images = select_split(images, params)
    if images.shape[0] == 0:
        raise GenartError(f"dataset {spec!r} has no images")
    return images


def build_model(context: BuildContext, spec: str) -> Any:
    model = build_component(context, MODEL, spec)
    if not hasattr(model, "image_shape") or not hasattr(model, "train_step"):
        raise GenartError(f"model {split_spec(spec).name!r} does not implement the GenerativeModel protocol")
    return model


def build_chain(context: BuildContext, specs: Sequence[str]) -> list[tuple[str, Callable[[Any], Any]]]:
    """Post-processors in the order the user gave them (never hook order)."""
    return [(spec, build_component(context, POST, spec)) for spec in specs]


def sample(model: Any, n: int, seed: int, batch_size: int = 64) -> Any:
    """``n`` samples on the CPU in [0, 1]; the same seed gives the same images."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    chunks = []
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            chunk = model.sample(min(batch_size, n - start), generator)
            chunks.append(chunk.detach().float().clamp(0, 1).cpu())
    return torch.cat(chunks) if chunks else torch.empty(0)


def apply_chain(chain: Sequence[tuple[str, Callable[[Any], Any]]], images: Any, device: Any,
                batch_size: int = 16) -> Any:
    """Run images through each post-processor in turn, in batches, checking the contract as we go."""
    import torch

    for spec, processor in chain:
        outputs = []
        with torch.inference_mode():
            for start in range(0, images.shape[0], batch_size):
                batch = images[start:start + batch_size].to(device)
                out = processor(batch)
                check_post_output(spec, out)
                outputs.append(out.detach().float().clamp(0, 1).cpu())
        images = torch.cat(outputs)
    return images


def check_post_output(spec: str, out: Any) -> None:
    import torch

    if not isinstance(out, torch.Tensor) or out.dim() != 4:
        raise GenartError(f"post-processor {spec!r} returned {type(out).__name__}, expected [N,C,H,W] tensor")
    if not torch.isfinite(out).all():
        raise GenartError(f"post-processor {spec!r} produced NaN or infinite values")
