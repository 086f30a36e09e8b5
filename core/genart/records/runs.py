"""Run folders, manifests and checkpoints, all written atomically.

Every file is written to a temporary name in the same folder and renamed into place, so a crash or
Ctrl-C never leaves a half-written checkpoint or manifest. Checkpoints are safetensors (no pickle):
nested state (model weights, optimiser state, counters, RNG states) is flattened to tensors plus a
JSON tree of the non-tensor leaves stored in the file's metadata.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import struct
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import GenartError, UsageError

MANIFEST = "manifest.json"
CHECKPOINT = "checkpoint.safetensors"
_TREE_KEY = "genart.tree"
_FORMAT_KEY = "genart.format"
_FORMAT = "genart-checkpoint-1"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~current_umask())  # mkstemp makes 0600; a finished file gets open()'s mode
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def current_umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: the temporary names atomic_path uses, e.g. ``.checkpoint.safetensors.k3j2h1.tmp``
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def remove_stale_temp_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete what an earlier process killed mid-write (``kill -9``, power loss) left in ``folder``.

    Only names of atomic_path's pattern are touched, and only directly in ``folder``: the caller owns
    the folder (a run being resumed or written), so no other writer is using them."""
    removed: list[Path] = []
    root = Path(folder)
    if not root.is_dir():
        return removed
    for entry in root.iterdir():
        if _TEMP_NAME.match(entry.name) and entry.is_file():
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry)
    return removed


def temp_target(name: str) -> str | None:
    """The file name an atomic_path temporary ``name`` was going to become, or None when ``name`` is not one."""
    if not _TEMP_NAME.match(name):
        return None
    return name[1:].rsplit(".", 2)[0]


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_json_atomic(path: str | os.PathLike[str], value: Any) -> None:
    write_bytes_atomic(path, (json.dumps(value, indent=2, sort_keys=False, default=str) + "\n").encode())


def read_json(path: str | os.PathLike[str]) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise GenartError(f"{path} not found") from None
    except json.JSONDecodeError as error:
        raise GenartError(f"{path} is not valid JSON: {error}") from None


def new_run_dir(parent: str | os.PathLike[str], label: str) -> Path:
    """Create a fresh folder ``parent/YYYYmmdd-HHMMSS-label[-N]``; never reuses an existing one."""
    root = Path(parent)
    root.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^\w.-]+", "-", label).strip("-.") or "run"  # \w: letters of any script are kept
    stem = time.strftime("%Y%m%d-%H%M%S") + "-" + safe
    for attempt in range(1000):
        candidate = root / (stem if attempt == 0 else f"{stem}-{attempt + 1}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise GenartError(f"could not create a new run folder under {root}")


def find_run_dir(path: str | os.PathLike[str]) -> Path:
    """A run folder given by the user: must exist and hold a manifest."""
    run = Path(path)
    if not (run / MANIFEST).is_file():
        raise UsageError(f"{run} is not a genart run folder (no {MANIFEST})")
    return run


# -- checkpoints ----------------------------------------------------------------------------------
def flatten_state(state: Any) -> tuple[dict[str, Any], Any]:
    """Split a nested state into ``{path: tensor}`` and a JSON tree with tensor placeholders."""
    import torch

    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, torch.Tensor):
            key = path or "_"
            tensors[key] = value.detach().to("cpu").contiguous()
            return {"__tensor__": key}
        if isinstance(value, dict):
            return {"__dict__": [[_key_to_json(k), walk(v, f"{path}/{k}" if path else str(k))]
                                 for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            items = [walk(v, f"{path}/{i}" if path else str(i)) for i, v in enumerate(value)]
            return {"__tuple__": items} if isinstance(value, tuple) else items
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"cannot checkpoint value of type {type(value).__name__} at {path!r}")

    tree = walk(state, "")
    return tensors, tree


def unflatten_state(tensors: dict[str, Any], tree: Any) -> Any:
    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "__tensor__" in node:
                return tensors[node["__tensor__"]]
            if "__dict__" in node:
                return {k: walk(v) for k, v in node["__dict__"]}
            if "__tuple__" in node:
                return tuple(walk(v) for v in node["__tuple__"])
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(tree)


def _key_to_json(key: Any) -> Any:
    if isinstance(key, (str, int)) and not isinstance(key, bool):
        return key
    raise TypeError(f"checkpoint dict keys must be str or int, got {type(key).__name__}")


def save_checkpoint(path: str | os.PathLike[str], state: Any, metadata: dict[str, str] | None = None) -> None:
    """Write nested ``state`` to a safetensors file atomically."""
    tensors, tree = flatten_state(state)
    meta = {_FORMAT_KEY: _FORMAT, _TREE_KEY: json.dumps(tree)}
    meta.update(metadata or {})
    write_bytes_atomic(path, canonical_safetensors(tensors, meta))


def canonical_safetensors(tensors: dict[str, Any], metadata: dict[str, str]) -> bytes:
    """safetensors bytes whose header is always written in the same order.

    safetensors keeps the metadata in a Rust HashMap whose order changes from one call to the next, so
    the same state gave files with different bytes; sorting the header makes a checkpoint a pure
    function of its state (exact resume is tested byte for byte) and changes nothing for readers."""
    from safetensors.torch import save

    raw = save(tensors, metadata=metadata)
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    ordered = {"__metadata__": dict(sorted(header.pop("__metadata__", {}).items()))}
    ordered.update(sorted(header.items(), key=lambda item: (item[1]["data_offsets"], item[0])))
    text = json.dumps(ordered, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)  # the data starts 8-byte aligned, as safetensors pads it
    return struct.pack("<Q", len(text)) + text + raw[8 + length:]


#: metadata key of the model a checkpoint was made with: JSON ``{"name": ..., "params": {...}}``
MODEL_KEY = "genart.model"


def read_checkpoint_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """A safetensors file's metadata alone (the header), without reading any tensor."""
    file = Path(path)
    try:
        with open(file, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(handle.read(length))
        meta = header.get("__metadata__") or {}
        return {str(k): str(v) for k, v in meta.items()}
    except FileNotFoundError:
        raise UsageError(f"checkpoint {file} not found") from None
    except IsADirectoryError:
        raise UsageError(f"checkpoint {file} is a folder, not a file") from None
    except (OSError, ValueError, struct.error, AttributeError) as error:
        reason = _not_safetensors(file) or f"not a safetensors file ({error})"
        raise GenartError(f"cannot read checkpoint {file}: {reason}") from None


def _not_safetensors(file: Path) -> str:
    """Why a file is refused, when its first bytes say what it is instead (pickles are never loaded)."""
    try:
        with open(file, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return ""
    if head.startswith(b"PK") or head[:1] == b"\x80":
        return ("a pickled PyTorch file (.pt/.pth), which genart never loads because unpickling can run code; "
                "convert it to safetensors")
    return ""


def load_checkpoint(path: str | os.PathLike[str], device: Any = "cpu") -> tuple[Any, dict[str, str]]:
    """Read a checkpoint written by :func:`save_checkpoint`; returns (state, metadata)."""
    from safetensors import safe_open

    file = Path(path)
    if not file.is_file():
        raise UsageError(f"checkpoint {file} not found")
    try:
        with safe_open(str(file), framework="pt", device=str(device)) as handle:
            meta = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception as error:  # safetensors raises several types for damaged files
        raise GenartError(f"cannot read checkpoint {file}: {_not_safetensors(file) or error}") from None
    if meta.get(_FORMAT_KEY) != _FORMAT:
        # A plain safetensors file (e.g. shipped weights): hand back the flat tensors.
        return tensors, meta
    return unflatten_state(tensors, json.loads(meta[_TREE_KEY])), meta
