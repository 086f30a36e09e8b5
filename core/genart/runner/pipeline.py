"""The steps the runner chains: data -> model (train) -> samples -> post chain -> files.

Each step is a plain function so commands (and tests, and other programs) compose them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..contract.components import BuildContext, build_component, resolve_params
from ..contract.params import DatasetParams, split_spec
from ..contract.protocols import Dataset, GenerativeModel, PostProcessor, WritesBeside
from ..contract.registry import DATASET, MODEL, POST
from ..errors import GenartError, blame


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


def decode_dataset(context: BuildContext, spec: str, size: int, channels: int) -> tuple[Dataset, Any, Any]:
    """Build the dataset from ``spec`` and decode all of it once: (dataset, its params, uint8 images)
    before ``split``/``holdout``, so a caller can select its labels the same way."""
    import torch

    request = split_spec(spec)
    params = resolve_params(context, DATASET, request)
    dataset = context.registry.get(DATASET, request.name).factory(params, context)
    if not isinstance(dataset, Dataset):
        raise GenartError(f"dataset {request.name!r} does not implement the Dataset protocol (it needs load)")
    images = dataset.load(size, channels)
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
        raise GenartError(f"dataset {request.name!r} returned {type(images).__name__}, expected uint8 [N,C,H,W]")
    return dataset, params, images


def load_data(context: BuildContext, spec: str, size: int, channels: int) -> Any:
    """Build the dataset from ``spec`` and decode it once into a uint8 tensor at the given size."""
    _, params, images = decode_dataset(context, spec, size, channels)
    images = select_split(images, params)
    if images.shape[0] == 0:
        raise GenartError(f"dataset {spec!r} has no images")
    return images


def build_model(context: BuildContext, spec: str) -> GenerativeModel:
    model = build_component(context, MODEL, spec)
    if not isinstance(model, GenerativeModel):
        raise GenartError(f"model {split_spec(spec).name!r} does not implement the GenerativeModel protocol")
    return model


#: a post-processing chain: each step's spec (for messages) and the built post-processor
Chain = list[tuple[str, PostProcessor]]


def build_chain(context: BuildContext, specs: Sequence[str]) -> Chain:
    """Post-processors in the order the user gave them (never hook order)."""
    return [(spec, build_component(context, POST, spec)) for spec in specs]


#: samples drawn per ``model.sample`` call
SAMPLE_BATCH = 64


def sample_batches(model: GenerativeModel, n: int, seed: int, batch_size: int = SAMPLE_BATCH) -> Iterator[Any]:
    """``n`` samples on the CPU in [0, 1], ``batch_size`` at a time from one generator seeded with ``seed``:
    the same seed gives the same images, and the first ``k`` of ``n`` are those of ``n = k``."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    for start in range(0, n, batch_size):
        with torch.inference_mode():
            chunk = model.sample(min(batch_size, n - start), generator).detach().float().clamp(0, 1).cpu()
        yield chunk  # outside inference mode: the consumer runs as it would without this generator


def sample(model: GenerativeModel, n: int, seed: int, batch_size: int = SAMPLE_BATCH) -> Any:
    """``n`` samples on the CPU in [0, 1] in one tensor (see :func:`sample_batches`)."""
    import torch

    chunks = list(sample_batches(model, n, seed, batch_size))
    return torch.cat(chunks) if chunks else torch.empty(0)


#: pixels per post-processing batch (e.g. 64 samples of 32x32, or one 256x256 picture)
POST_BATCH_PIXELS = 65536


def apply_chain(chain: Sequence[tuple[str, PostProcessor | Callable[[Any], Any]]], images: Any, device: Any,
                batch_size: int = 16) -> Any:
    """Run images through each post-processor in turn, in batches, checking the contract as we go.

    Batches hold at most ``batch_size`` images and about POST_BATCH_PIXELS pixels: many small samples
    share one call (fewer, larger kernels), while large pictures go one at a time (batching them only
    multiplies the working set of every layer and falls out of the CPU caches). Each batch's output is
    checked with one min/max pass and clamped straight into the step's result tensor, so the checks
    cost less than even a cheap post-processor (bicubic)."""
    import torch

    for spec, processor in chain:
        result = None
        height, width = images.shape[-2:]
        per_batch = max(1, min(batch_size, POST_BATCH_PIXELS // max(1, height * width)))
        with torch.inference_mode():
            for start in range(0, images.shape[0], per_batch):
                batch = images[start:start + per_batch].to(device)
                with blame("post-processor", spec, _module_of(processor), "processing images",
                           "process fewer or smaller images, or use a smaller tile= where the processor has one"):
                    out = processor(batch)
                check_post_output(spec, out)
                if out.shape[0] != batch.shape[0]:
                    raise GenartError(f"post-processor {spec!r} returned {out.shape[0]} images for {batch.shape[0]}")
                if result is None:
                    result = torch.empty((images.shape[0], *out.shape[1:]), dtype=torch.float32)
                elif out.shape[1:] != result.shape[1:]:
                    raise GenartError(f"post-processor {spec!r} returned {tuple(out.shape[1:])} for one batch and "
                                      f"{tuple(result.shape[1:])} for another")
                torch.clamp(out.detach().to("cpu", torch.float32), 0, 1, out=result[start:start + out.shape[0]])
        images = result if result is not None else images
    return images


def last_in_bands(chain: Sequence[tuple[str, Any]], images: Any, device: Any) -> Iterator[Any]:
    """``apply_chain`` for one image whose last step is ``genart.Bands``: every step but the last runs
    whole, the last one's output comes band by band, checked and clamped as apply_chain would."""
    import torch

    head = apply_chain(chain[:-1], images, device, batch_size=1)
    spec, processor = chain[-1]
    bands = processor.bands(head.to(device))
    while True:  # inference mode only around each step of the generator: a yield must not leak it
        with torch.inference_mode(), blame("post-processor", spec, _module_of(processor), "processing images",
                                           "process fewer or smaller images, or use a smaller tile= where "
                                           "the processor has one"):
            band = next(bands, None)
            if band is None:
                return
            check_post_output(spec, band)
            band = band.detach().to("cpu", torch.float32).clamp(0, 1)
        yield band
        del band  # not held while the next band is made


def finish_chain(chain: Sequence[tuple[str, Any]], folder: Any) -> list[Any]:
    """Call ``finish(folder)`` on every post-processor of a finished batch that writes files of its own
    (``genart.WritesBeside``); the paths they wrote."""
    from pathlib import Path

    written: list[Any] = []
    for spec, processor in chain:
        if isinstance(processor, WritesBeside):
            with blame("post-processor", spec, _module_of(processor), "writing its files"):
                written += list(processor.finish(Path(folder)))
    return written


def _module_of(component: Any) -> str:
    """The top-level package a component comes from, to name its plugin in an error."""
    module = getattr(component, "__module__", None) or type(component).__module__
    return str(module).split(".")[0]


def check_post_output(spec: str, out: Any) -> None:
    import torch

    if not isinstance(out, torch.Tensor) or out.dim() != 4:
        raise GenartError(f"post-processor {spec!r} returned {type(out).__name__}, expected [N,C,H,W] tensor")
    if out.numel():
        low, high = torch.aminmax(out.detach())  # NaN propagates into both; one pass, no mask tensor
        if not (torch.isfinite(low) and torch.isfinite(high)):
            raise GenartError(f"post-processor {spec!r} produced NaN or infinite values")
