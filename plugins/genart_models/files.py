"""Where model files live and how their tensors are read without ever running code from them.

A ``.pth``/``.pt``/``.ckpt`` file is a Python pickle, and unpickling an untrusted pickle can run
anything. spandrel's own loader uses a restricted unpickler and, for ``.pt``, ``torch.jit.load``
(which runs TorchScript); genart uses neither: safetensors files are read by ``safetensors``
(no code at all) and pickles only by ``torch.load(weights_only=True)``, which rebuilds tensors,
containers and numbers and refuses every other global. A file that needs more is refused with a
line pointing at ``genart convert-weights`` (see convert.py).
"""

from __future__ import annotations

import hashlib
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from genart.errors import UsageError

SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt")
PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt")


def models_dir() -> Path:
    """``$GENART_MODELS``, else genart's folder in the user's data directory (nothing is created here)."""
    configured = os.environ.get("GENART_MODELS")
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "genart" / "models"


def model_files(folder: Path | None = None) -> list[Path]:
    """Every model file under the models folder (recursively, sorted, hidden files skipped)."""
    root = folder or models_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."))


def find_model(name: str) -> Path:
    """A path as given, or a file in the models folder by file name or by name without its suffix."""
    given = Path(name).expanduser()
    if given.is_file():
        return given.resolve()
    if given.exists():
        raise UsageError(f"{name} is not a file")
    root = models_dir()
    matches = [p for p in model_files(root) if name in (p.name, p.stem, str(p.relative_to(root)))]
    if len(matches) == 1:
        return matches[0].resolve()
    if len(matches) > 1:
        raise UsageError(f"{name!r} matches {len(matches)} files in {root} ({', '.join(p.name for p in matches[:3])}); "
                         "give the file name with its suffix or a path")
    if given.suffix.lower() not in SUFFIXES and given.suffix:
        raise UsageError(f"{name}: not a model file (genart reads {', '.join(SUFFIXES)})")
    raise UsageError(f"model {name!r} not found: no such file, and nothing by that name in {root} "
                     "(set GENART_MODELS or put the file there; genart never downloads models)")


def sha256_of(path: Path) -> str:
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_tensors(path: Path) -> dict[str, Any]:
    """The file's tensors (name -> tensor, on the CPU), never executing code; one-line errors."""
    stat = path.stat()
    return _load(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    file = Path(path)
    if size == 0:
        raise UsageError(f"{file}: empty file (truncated download?)")
    if file.suffix.lower() == ".safetensors":
        return _load_safetensors(file)
    if file.suffix.lower() in PICKLE_SUFFIXES:
        return _load_pickle(file)
    raise UsageError(f"{file}: not a model file (genart reads {', '.join(SUFFIXES)})")


def _load_safetensors(file: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    try:
        return dict(load_file(str(file), device="cpu"))
    except Exception as error:  # SafetensorError, OSError, ...
        raise UsageError(f"{file}: truncated or not a safetensors file ({_short(error)})") from None


def _load_pickle(file: Path) -> dict[str, Any]:
    import pickle
    import zipfile

    import torch

    try:
        with zipfile.ZipFile(file) as archive:
            if any(name.endswith("/code/") or "/code/__torch__" in name for name in archive.namelist()):
                raise UsageError(f"{file}: a TorchScript program, not plain weights; genart loads only weights "
                                 "(export the network's state_dict to .safetensors)")
    except (zipfile.BadZipFile, OSError):
        pass  # the legacy (pre-1.6) format is not a zip; a truncated zip fails below with its own line
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        found = str(error).split("\n")[0]
        for line in str(error).splitlines():
            if "GLOBAL" in line or "Unsupported global" in line:
                found = line.strip()
                break
        raise UsageError(f"{file}: needs more than plain weights to load and genart runs no code from weight files "
                         f"({_short(found)}); if you trust it, keep only its tensors with "
                         f"`genart convert-weights {file.name} {file.stem}.safetensors`") from None
    except Exception as error:  # RuntimeError from a damaged zip, EOFError, ...
        raise UsageError(f"{file}: truncated or damaged ({_short(error)})") from None
    if not isinstance(state, dict):
        raise UsageError(f"{file}: holds a {type(state).__name__}, not a dictionary of tensors")
    return state


def _short(error: object, limit: int = 160) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
