"""What every job and record needs first: the build context of a device and precision, and the
versions and precision label that manifests and recipes record."""

from __future__ import annotations

import platform
from typing import Any

from ..contract.components import BuildContext
from ..contract.plugins import App
from ..loop import distributed
from ..loop.amp import LossScaler
from ..loop.device import prefers_channels_last, resolve_device, resolve_precision
from ..version import __version__


def make_context(app: App, device: str, precision: str) -> BuildContext:
    import torch

    dev = distributed.local_device(resolve_device(device), distributed.from_environment())
    dtype = resolve_precision(precision, dev)
    return BuildContext(registry=app.registry, device=dev, precision=dtype,
                        channels_last=prefers_channels_last(dev, dtype),
                        scaler=LossScaler(enabled=dtype == torch.float16))


def versions(app: App) -> dict[str, Any]:
    import torch

    return {
        "genart": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "plugins": {r.name: r.version for r in app.records.values() if r.status == "loaded"},
    }


def precision_label(context: BuildContext) -> str:
    import torch

    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}.get(context.precision, str(context.precision))
