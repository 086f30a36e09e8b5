"""Choosing where and at what precision to run.

``auto`` takes CUDA when present, then Apple's MPS, then the CPU, so the same command uses a GPU
wherever there is one.
"""

from __future__ import annotations

from typing import Any

from .errors import UsageError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(name: str = "auto") -> Any:
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {name!r} requested but CUDA is not available here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s) exist")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UsageError("device 'mps' requested but MPS is not available here")
    elif device.type != "cpu":
        raise UsageError(f"unsupported device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def resolve_precision(precision: str, device: Any) -> Any:
    """The autocast dtype for ``precision`` on ``device``, or None for plain fp32.

    ``auto`` is fp32 everywhere for now: reduced precision is opt-in until benchmarks show it keeps
    quality on each device.
    """
    import torch

    precision = (precision or "auto").lower()
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    if precision in ("auto", "fp32"):
        return None
    if precision == "fp16" and device.type == "cpu":
        raise UsageError("fp16 is not supported on the CPU; use bf16 or fp32")
    return torch.bfloat16 if precision == "bf16" else torch.float16


def describe_device(device: Any) -> str:
    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)
