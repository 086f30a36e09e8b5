"""What a model file is: spandrel detects the architecture from the tensors' names and shapes.

Only ``spandrel``'s own registry is used unless the caller opts in to ``spandrel_extra_arches``
(architectures under non-commercial or copyleft licences), which must then also be installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from genart.errors import UsageError

from .compat import import_spandrel
from .files import load_tensors, sha256_of

PERMISSIVE = "permissive (MIT, Apache-2.0 or public domain; spandrel)"
RESTRICTED = "restricted (non-commercial or copyleft; spandrel_extra_arches)"
EXTRA_HINT = "pip install 'genart[extra-arches]' and add extra=true"


@dataclass(frozen=True)
class ModelInfo:
    """Everything genart records and shows about a model file."""

    path: str
    sha256: str
    size: int
    architecture: str  # spandrel's id, e.g. "ESRGAN"
    name: str  # spandrel's display name
    purpose: str  # SR, FaceSR, Restoration
    scale: int
    input_channels: int
    output_channels: int
    supports_half: bool
    supports_bfloat16: bool
    tiling: str  # supported, discouraged, internal
    multiple: int  # tiles and images are kept on multiples of this
    minimum: int
    licence: str


def extra_registry() -> Any:
    """spandrel's registry plus the extra architectures (a copy: the global registry stays permissive)."""
    MAIN_REGISTRY = import_spandrel().MAIN_REGISTRY
    try:
        import spandrel_extra_arches  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise UsageError(f"extra=true needs spandrel_extra_arches ({EXTRA_HINT.split(' and ')[0]})") from None

    registry = MAIN_REGISTRY.copy()
    registry.add(*spandrel_extra_arches.EXTRA_REGISTRY.architectures(), ignore_duplicates=True)
    return registry


def main_ids() -> set[str]:
    MAIN_REGISTRY = import_spandrel().MAIN_REGISTRY

    return {str(support.architecture.id) for support in MAIN_REGISTRY.architectures()}


def load_descriptor(path: Path, extra: bool = False) -> Any:
    """A fresh spandrel ImageModelDescriptor on the CPU (eval mode, no gradients); one-line errors."""
    spandrel = import_spandrel()

    state = spandrel.canonicalize_state_dict(load_tensors(path))
    tensors = {k: v for k, v in state.items() if hasattr(v, "shape")}
    if not tensors:
        raise UsageError(f"{path}: holds no tensors")
    if not any(len(v.shape) == 4 for v in tensors.values()):
        raise UsageError(f"{path}: not an image model (no convolution weights among its {len(tensors)} tensors)")
    registry = extra_registry() if extra else spandrel.MAIN_REGISTRY
    try:
        descriptor = spandrel.ModelLoader(registry=registry).load_from_state_dict(tensors)
    except spandrel.UnsupportedModelError:
        raise UsageError(_unknown(path, tensors, extra)) from None
    except UsageError:
        raise
    except Exception as error:  # detected, but the tensors do not fit the architecture
        raise UsageError(f"{path}: looks like a known architecture but its tensors do not fit it "
                         f"({type(error).__name__}: {str(error).splitlines()[0][:120]})") from None
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise UsageError(f"{path}: a {descriptor.architecture.name} {descriptor.purpose.lower()} model needs a mask "
                         "or other inputs; the model post-processor runs image-to-image models only")
    if descriptor.input_channels not in (1, 3) or descriptor.output_channels not in (1, 3):
        raise UsageError(f"{path}: a {descriptor.architecture.name} model with {descriptor.input_channels} input and "
                         f"{descriptor.output_channels} output channels; genart runs grey or RGB models")
    descriptor.eval()
    descriptor.model.requires_grad_(False)
    return descriptor


def _unknown(path: Path, tensors: dict[str, Any], extra: bool) -> str:
    keys = ", ".join(sorted(tensors)[:3])
    hint = ""
    if not extra:
        try:
            import spandrel_extra_arches  # type: ignore[import-not-found,unused-ignore]  # noqa: F401

            hint = "; if it is a non-commercial/copyleft architecture add extra=true"
        except ImportError:
            hint = f"; for non-commercial/copyleft architectures {EXTRA_HINT}"
    return f"{path}: unknown architecture (spandrel recognises no model with tensors like {keys}){hint}"


def describe(path: Path, extra: bool = False) -> ModelInfo:
    stat = path.stat()
    return _describe(str(path.resolve()), stat.st_mtime_ns, stat.st_size, extra)


@lru_cache(maxsize=16)
def _describe(path: str, mtime_ns: int, size: int, extra: bool) -> ModelInfo:
    descriptor = load_descriptor(Path(path), extra)
    return info_of(descriptor, Path(path))


def info_of(descriptor: Any, path: Path) -> ModelInfo:
    requirements = descriptor.size_requirements
    multiple = math.lcm(int(requirements.multiple_of), _window(descriptor.model))
    arch = descriptor.architecture.id
    return ModelInfo(
        path=str(path), sha256=sha256_of(path), size=path.stat().st_size, architecture=str(arch),
        name=descriptor.architecture.name, purpose=str(descriptor.purpose), scale=int(descriptor.scale),
        input_channels=int(descriptor.input_channels), output_channels=int(descriptor.output_channels),
        supports_half=bool(descriptor.supports_half), supports_bfloat16=bool(descriptor.supports_bfloat16),
        tiling=descriptor.tiling.name.lower(), multiple=multiple, minimum=int(requirements.minimum),
        licence=PERMISSIVE if str(arch) in main_ids() else RESTRICTED)


def _window(model: Any) -> int:
    """Window attention (SwinIR, HAT, DAT, ...) partitions the image on a grid from its origin: tiles must
    start on that grid to see the windows the whole image would."""
    sizes = [1]
    for name in ("window_size", "split_size"):
        value = getattr(model, name, None)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, int) and item > 0:
                sizes.append(item)
    return math.lcm(*sizes)
