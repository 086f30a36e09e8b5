"""Building components: the context every factory gets, and a component from its spec (registry lookup +
typed params + factory call)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import blame
from ..loop.amp import LossScaler
from .params import ComponentRequest, build_params, split_spec
from .registry import KIND_LABELS

if TYPE_CHECKING:
    import torch

    from .registry import Registry

ModuleT = TypeVar("ModuleT", bound="torch.nn.Module")


@dataclass
class BuildContext:
    """What a factory may need beyond its own parameters."""

    registry: Registry
    device: torch.device
    #: autocast dtype for training/inference on this device, or None for plain fp32
    precision: Any = None
    #: convolutions run faster in channels_last layout here (see device.prefers_channels_last); batches arrive in it
    channels_last: bool = False
    #: loss scaling for fp16 (a pass-through otherwise): models call ``scaler.backward(loss)`` and
    #: ``scaler.step(optimizer)`` so the same code trains correctly at every precision
    scaler: LossScaler = field(default_factory=LossScaler)

    def prepare(self, module: ModuleT) -> ModuleT:
        """Move a network to this run's device and memory layout; models call it on each network."""
        import torch

        module = module.to(self.device)
        return module.to(memory_format=torch.channels_last) if self.channels_last else module  # type: ignore[call-overload]

    def build(self, kind: str, spec: str | Any) -> Any:
        """Build another component by spec, e.g. a model building the loss its params name."""
        return build_component(self, kind, spec)


def build_component(context: BuildContext, kind: str, spec: str | ComponentRequest) -> Any:
    """Build ``kind`` from ``"name:key=value"``; every user mistake is a one-line UsageError."""
    request = split_spec(spec) if isinstance(spec, str) else spec
    component = context.registry.get(kind, request.name)
    label = KIND_LABELS.get(kind, kind)
    params = build_params(component.params, request.options, component=f"{label} {request.name!r}")
    with blame(label, request.name, component.plugin, "building", "lower its size parameters (image_size, width, ...)"):
        return component.factory(params, context)


def resolve_params(context: BuildContext, kind: str, spec: str | ComponentRequest) -> Any:
    """Typed parameters of a spec without building it (for manifests and validation up front)."""
    request = split_spec(spec) if isinstance(spec, str) else spec
    component = context.registry.get(kind, request.name)
    return build_params(component.params, request.options,
                        component=f"{KIND_LABELS.get(kind, kind)} {request.name!r}")
