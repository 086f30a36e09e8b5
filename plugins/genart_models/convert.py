"""``genart convert-weights``: keep only a checkpoint's tensors, in a safetensors file.

A pickle that ``torch.load(weights_only=True)`` refuses names Python globals beyond tensors and
containers: often harmless training state (``argparse.Namespace`` options, numpy scalars), sometimes
a payload. Conversion loads it with the same weights-only unpickler, but with every global it names
replaced by :class:`Inert`, a class that accepts any arguments and does nothing; so no function
from the file is ever called, whatever it names. What comes out is the model's tensors (found as
spandrel finds them), written as safetensors, which carry no code at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.errors import UsageError

from .compat import import_spandrel
from .files import PICKLE_SUFFIXES, _short, load_tensors


class Inert:
    """Stands in for any global a checkpoint names: constructing, calling or restoring it does nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, item: Any) -> None:
        pass

    def extend(self, items: Any) -> None:
        pass


def _stand_in(full_name: str) -> type:
    return type(full_name.rsplit(".", 1)[-1], (Inert,), {"__module__": "genart_models.inert"})


def read_any(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The tensors of a weights file and the globals that were replaced by inert stand-ins."""
    try:
        return load_tensors(path), []
    except UsageError as error:
        if path.suffix.lower() not in PICKLE_SUFFIXES or "needs more than plain weights" not in str(error):
            raise
    import torch

    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception as error:
        raise UsageError(f"{path}: cannot list what it refers to ({_short(error)}); "
                         "only zip-format checkpoints (torch >= 1.6) can be converted") from None
    stand_ins: list[Any] = [(_stand_in(name), name) for name in names]
    try:
        with torch.serialization.safe_globals(stand_ins):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UsageError(f"{path}: cannot be read even with inert stand-ins ({_short(error)})") from None
    return (state if isinstance(state, dict) else {}), list(names)


def tensors_only(state: dict[str, Any]) -> dict[str, Any]:
    """The model's tensors, unwrapped from training checkpoints the way spandrel unwraps them."""
    spandrel = import_spandrel()
    import torch

    state = spandrel.canonicalize_state_dict({k: v for k, v in state.items() if isinstance(k, str)})
    return {k: v.detach().contiguous() for k, v in state.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}


def convert(source: Path, target: Path, overwrite: bool = False) -> tuple[int, list[str]]:
    """Write ``source``'s tensors to ``target`` (safetensors, atomically); (tensor count, replaced globals)."""
    from safetensors.torch import save

    from genart.api import write_bytes_atomic

    if target.suffix.lower() != ".safetensors":
        raise UsageError(f"{target}: the output must end in .safetensors")
    if target.exists() and not overwrite:
        raise UsageError(f"{target} already exists (use --overwrite to replace it)")
    if target.resolve() == source.resolve():
        raise UsageError("the output must not be the input file")
    state, replaced = read_any(source)
    tensors = tensors_only(state)
    if not tensors:
        raise UsageError(f"{source}: holds no tensors; nothing written")
    shared = _untie(tensors)
    write_bytes_atomic(target, save(shared, metadata={"format": "pt", "converted_from": source.name}))
    return len(tensors), replaced


def _untie(tensors: dict[str, Any]) -> dict[str, Any]:
    """safetensors refuses tensors that share memory (tied weights): give each its own copy."""
    seen: set[int] = set()
    out = {}
    for key, value in tensors.items():
        pointer = value.untyped_storage().data_ptr()
        out[key] = value.clone() if pointer in seen else value
        seen.add(pointer)
    return out
