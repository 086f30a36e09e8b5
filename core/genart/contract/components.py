"""Building components: the context every factory gets, and a component from its spec (registry lookup +
typed params + factory call)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import PluginAPIDeprecation, UsageError, blame
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

    def check_tag(self, kind: str, spec: str | Any, tag: str) -> None:
        """Refuse, in one line, a component of ``spec`` registered for another model family than ``tag``
        (a model calls it on the loss its parameters name, after checking the loss's protocol)."""
        request = split_spec(spec) if isinstance(spec, str) else spec
        check_tag(self.registry, self.registry.get(kind, request.name), tag)


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


def check_tag(registry: Registry, component: Any, tag: str) -> None:
    """A model family's component must carry its tag: a loss tagged for another family is refused in one
    line. One with no tags at all (written before tags were checked) is accepted with a warning for one
    more major version of the plugin API."""
    if tag in component.tags:
        return
    label = KIND_LABELS.get(component.kind, component.kind)
    fitting = [spec.name for spec in registry if spec.kind == component.kind and tag in spec.tags]
    if not component.tags:
        warnings.warn(f"{label} {component.name!r} (plugin {component.plugin!r}) has no tags, so genart cannot tell "
                      f"it is meant for this model; register it with tags=({tag!r},). Untagged components are "
                      "refused from plugin API 3.0", PluginAPIDeprecation, stacklevel=4)
        return
    raise UsageError(f"{label} {component.name!r} (plugin {component.plugin!r}) is tagged "
                     f"{', '.join(sorted(component.tags))}, not {tag}, so this model cannot use it; "
                     f"{tag} {label}{'es' if label.endswith('s') else 's'}: {', '.join(fitting) or 'none'}")
