"""The hooks a genart plugin can implement.

Every registration hook hands the plugin a ``register`` callback (the llm/datasette style), so a
plugin registers any number of components and the core records which plugin provided each one.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("genart")
hookimpl = pluggy.HookimplMarker("genart")


@hookspec
def register_models(register: Any) -> None:
    """Register generative models: ``register(name, factory, params=..., description=...)``."""


@hookspec
def register_losses(register: Any) -> None:
    """Register losses a model's parameters can select by name (``--model gan:loss=hinge``)."""


@hookspec
def register_datasets(register: Any) -> None:
    """Register datasets that yield images in [0, 1] at a requested size and channel count."""


@hookspec
def register_post_processors(register: Any) -> None:
    """Register post-processors: image batch in, image batch in [0, 1] out (``--post NAME``)."""


@hookspec
def register_components(register: Any) -> None:
    """Register components of other kinds: ``register(kind, name, factory, ...)``."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands to the ``genart`` command group."""
