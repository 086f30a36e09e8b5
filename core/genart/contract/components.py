"""Building components from specs: registry lookup + typed params + factory call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import blame
from .params import ComponentRequest, build_params, split_spec
from .registry import KIND_LABELS

if TYPE_CHECKING:
    from .protocols import BuildContext


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
