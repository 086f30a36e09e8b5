"""A training checkpoint: the model's state with the loop's (step, seed, RNG, loss scale), the model
identity recorded in its metadata, and loading it back exactly, with a one-line error naming the
parameters that differ when it belongs to another model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..contract.protocols import GenerativeModel
from ..errors import CheckpointMismatch, GenartError
from ..records.runs import MODEL_KEY, load_checkpoint, read_checkpoint_metadata


def rng_state() -> dict[str, Any]:
    import torch

    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_state(model: GenerativeModel, step: int, seed: int, scaler: Any = None) -> dict[str, Any]:
    loop: dict[str, Any] = {"step": step, "seed": seed, "rng": rng_state()}
    if scaler is not None and scaler.enabled:
        loop["scaler"] = scaler.state_dict()
    return {"model": model.state_dict(), "loop": loop}


def model_metadata(name: str, params: dict[str, Any]) -> dict[str, str]:
    """The checkpoint metadata that says which model (and parameters) made it."""
    return {MODEL_KEY: json.dumps({"name": name, "params": params}, sort_keys=True, default=str)}


def _describe(name: str, params: dict[str, Any], keys: list[str]) -> str:
    shown = ",".join(f"{key}={params.get(key)}" for key in keys)
    return f"{name}:{shown}" if shown else name


def check_checkpoint_model(path: str | Path, expected: dict[str, Any] | None) -> dict[str, Any] | None:
    """Compare the model recorded in a checkpoint's metadata with ``expected`` ({"name", "params"}),
    reading only the header. Another model is refused at once; other parameters are returned (the
    recorded model) so a failed load can say which ones differ. Old checkpoints record nothing."""
    raw = read_checkpoint_metadata(path).get(MODEL_KEY)
    if raw is None or expected is None:
        return None
    try:
        recorded = json.loads(raw)
        made_name, made_params = str(recorded["name"]), dict(recorded.get("params") or {})
    except (ValueError, KeyError, TypeError):
        return None
    if made_name != expected["name"]:
        raise CheckpointMismatch(f"checkpoint {path} was made with model {made_name!r}, "
                                 f"but model {expected['name']!r} was asked for")
    return {"name": made_name, "params": made_params}


def _mismatch(path: str | Path, error: Exception, recorded: dict[str, Any] | None,
              expected: dict[str, Any] | None) -> CheckpointMismatch:
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if recorded is not None and expected is not None:
        wanted = dict(expected.get("params") or {})
        made = recorded["params"]
        keys = sorted(k for k in set(made) | set(wanted) if made.get(k) != wanted.get(k))
        if keys:
            return CheckpointMismatch(f"checkpoint {path} was made with {_describe(recorded['name'], made, keys)}, "
                                      f"but {_describe(expected['name'], wanted, keys)} was asked for")
    asked = f" for model {expected['name']!r}" if expected is not None else ""
    return CheckpointMismatch(f"checkpoint {path} does not fit the model{asked} (made for another model or "
                              f"other parameters: {message[:200]})")


def restore_checkpoint(model: GenerativeModel, path: str | Path, scaler: Any = None,
                       expected: dict[str, Any] | None = None) -> int:
    """Load model and loop state from ``path``; returns the step to continue from.

    ``expected`` ({"name", "params"}) is checked against the checkpoint's recorded model first."""
    recorded = check_checkpoint_model(path, expected)
    state, _ = load_checkpoint(path)
    if not isinstance(state, dict) or "model" not in state or "loop" not in state:
        raise GenartError(f"{path} is not a genart training checkpoint")
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError, ValueError, TypeError, IndexError) as error:
        raise _mismatch(path, error, recorded, expected) from error
    match_optimizer_layouts(model)
    set_rng_state(state["loop"]["rng"])
    if scaler is not None and scaler.enabled:
        scaler.load_state_dict(state["loop"].get("scaler", {}))
    return int(state["loop"]["step"])


def match_optimizer_layouts(model: Any) -> None:
    """Give every optimiser state tensor its parameter's memory layout (strides), as a fresh run has.

    Checkpoints store tensors contiguous, and ``Optimizer.load_state_dict`` casts dtype and device but
    not layout, so a channels_last weight came back with contiguous Adam moments. The fused Adam kernel
    walks parameter and moments as flat memory, so it then paired each weight with another element's
    moments and a resumed run drifted from an uninterrupted one."""
    import torch

    from .distributed import find_optimizers_and_modules

    optimizers, _ = find_optimizers_and_modules(model)
    for optimizer in optimizers:
        for parameter, slots in optimizer.state.items():
            if not isinstance(parameter, torch.Tensor) or not isinstance(slots, dict):
                continue
            for key, value in slots.items():
                if (isinstance(value, torch.Tensor) and value.shape == parameter.shape
                        and value.stride() != parameter.stride()):
                    slots[key] = torch.empty_like(parameter, dtype=value.dtype, device=value.device).copy_(value)
