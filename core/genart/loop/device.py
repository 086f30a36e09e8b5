"""Choosing where and at what precision to run.

``auto`` takes CUDA when present, then Apple's MPS, then the CPU, so the same command uses a GPU
wherever there is one.
"""

from __future__ import annotations

import platform
from typing import Any

from ..errors import UsageError

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


def cpu_has_native_bf16() -> bool:
    """True on CPUs with bf16 instructions (AVX512-BF16 or AMX), where bf16 matmuls run ~2-3x fp32.

    Without them PyTorch emulates bf16 and autocast is slower than fp32, so ``auto`` stays fp32.
    """
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: Any) -> Any:
    """The autocast dtype for ``precision`` on ``device``, or None for plain fp32.

    ``auto`` picks bf16 where the hardware runs it natively (CUDA with bf16 support, CPUs with
    AVX512-BF16/AMX), fp16 on older CUDA cards (trained with loss scaling, see amp.py) and fp32
    elsewhere; the benchmarks check that quality holds at bf16.
    """
    import torch

    precision = (precision or "auto").lower()
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "cpu" and cpu_has_native_bf16():
            return torch.bfloat16
        return None
    if precision == "fp32":
        return None
    if precision == "fp16" and device.type == "cpu":
        raise UsageError("fp16 is not supported on the CPU; use bf16 or fp32")
    return torch.bfloat16 if precision == "bf16" else torch.float16


def prefers_channels_last(device: Any, dtype: Any) -> bool:
    """Whether models and batches should be in channels_last (NHWC) layout on ``device`` at autocast ``dtype``.

    Under bf16/fp16 it is the layout the fast CUDA and CPU kernels take. On x86 CPUs, where PyTorch's
    convolutions are oneDNN's, it pays in fp32 too: on the 2-core EPYC we test on, the default VAE's fp32
    training step ran 1.19x and the GAN's 1.35x faster in it (docs/scaling.md). fp32 on CUDA and other CPUs
    keeps the default layout (not measured there).
    """
    import torch

    if device.type == "cuda":
        return dtype is not None
    if device.type == "cpu":
        x86 = platform.machine().lower() in ("x86_64", "amd64")
        return dtype is not None or (x86 and torch.backends.mkldnn.is_available())  # type: ignore[no-untyped-call]
    return False


def describe_device(device: Any) -> str:
    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)
