"""The hooks a genart plugin can implement.

Every registration hook hands the plugin a ``register`` callback (the llm/datasette style), so a
plugin registers any number of components and the core records which plugin provided each one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from .protocols import Register, RegisterComponent

hookspec = pluggy.HookspecMarker("genart")
hookimpl = pluggy.HookimplMarker("genart")


@hookspec
def register_models(register: Register) -> None:
    """Register generative models: ``register(name, factory, params=..., description=...)``."""


@hookspec
def register_losses(register: Register) -> None:
    """Register losses a model's parameters can select by name (``--model gan:loss=hinge``)."""


@hookspec
def register_datasets(register: Register) -> None:
    """Register datasets that yield images in [0, 1] at a requested size and channel count."""


@hookspec
def register_post_processors(register: Register) -> None:
    """Register post-processors: image batch in, image batch in [0, 1] out (``--post NAME``)."""


@hookspec
def register_components(register: RegisterComponent) -> None:
    """Register components of other kinds: ``register(kind, name, factory, ...)``."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the ``genart`` command group."""
