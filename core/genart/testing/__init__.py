"""pytest plugin for genart plugin authors (loaded automatically through the ``pytest11`` entry point).

Fixtures (``pytest --fixtures`` shows each one's doc):
    genart_app        a fresh App with no plugins loaded (add yours with ``register_plugin``)
    builtin_app       a fresh App with the installed entry-point plugins loaded
    register_plugin   ``register_plugin(module_or_object, name=None, app=None)`` for one test; always unregistered
    genart_cli        ``genart_cli(args, app=None)`` runs the CLI in-process, returns click's Result
    tiny_images       ``tiny_images(n=4, channels=3, size=16, seed=0)`` -> float [N,C,H,W] in [0,1]
    tiny_run          ``tiny_run(app, model_spec, data_spec, steps=2, ...)`` -> a trained run folder

Every fixture that takes ``app=`` uses ``genart_app`` when none is given; pass ``builtin_app`` (or an
App you built) to work with the installed plugins as well as yours.

Contract checks (plain functions, call them from your tests). One calling convention: the built
component first, options by keyword; a check that must build the component several times (to
compare runs) takes the App and the spec instead:
    check_post_processor(processor), check_model(model), check_latent(model),
    check_dataset(dataset, count=N), check_gan_loss(loss), check_sampler(sampler),
    check_loss_scaling(app, spec), check_labelled_dataset(dataset, names=...),
    check_conditional_model(model, names=...)
Helpers: ``make_tiny_images``, ``make_tiny_run(app, folder, model, data, steps=2, ...)`` and
``build_context(app, device="cpu", loss_scale=0.0)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..contract.plugins import App
from .checks import (
    build_context,
    check_dataset,
    check_latent,
    check_loss_scaling,
    check_model,
    check_post_processor,
    make_tiny_images,
    make_tiny_run,
)
from .gan import check_gan_loss
from .labels import check_conditional_model, check_labelled_dataset
from .samplers import check_sampler

__all__ = [
    "App",
    "build_context",
    "builtin_app",
    "check_conditional_model",
    "check_dataset",
    "check_gan_loss",
    "check_labelled_dataset",
    "check_latent",
    "check_loss_scaling",
    "check_model",
    "check_post_processor",
    "check_sampler",
    "genart_app",
    "genart_cli",
    "make_tiny_images",
    "make_tiny_run",
    "register_plugin",
    "tiny_images",
    "tiny_run",
]


@pytest.fixture
def genart_app() -> App:
    """A fresh genart App with no plugins: register yours with ``register_plugin`` (or ``app.register``)."""
    return App()


@pytest.fixture
def builtin_app() -> App:
    """A fresh genart App with every installed entry-point plugin loaded, as the ``genart`` command has."""
    return App.from_entry_points(only=None)


@pytest.fixture
def register_plugin(genart_app: App) -> Iterator[Callable[..., Any]]:
    """``register_plugin(plugin, name=None, app=None)``: register a plugin module or object for this test
    only (into ``genart_app`` unless ``app`` is given); it is unregistered again afterwards. Returns its
    PluginRecord (``.status``, ``.error``, ``.warnings``)."""
    names: list[tuple[App, str]] = []

    def register(plugin: Any, name: str | None = None, app: App | None = None) -> Any:
        target = app or genart_app
        label = str(name or getattr(plugin, "__name__", type(plugin).__name__))
        record = target.register(plugin, label)
        names.append((target, label))
        return record

    yield register
    for target, label in names:
        target.unregister(label)


@pytest.fixture
def genart_cli(genart_app: App) -> Callable[..., Any]:
    """``genart_cli(args, app=None, **kwargs)``: run the ``genart`` command in-process with the commands of
    ``app`` (default ``genart_app``) and return click's Result (``.exit_code``, ``.output``); kwargs go to
    CliRunner.invoke (``input=...``, ``env=...``)."""
    from click.testing import CliRunner

    from ..cli import make_cli

    def invoke(args: list[str], app: App | None = None, **kwargs: Any) -> Any:
        runner = CliRunner()
        return runner.invoke(make_cli(app or genart_app), args, catch_exceptions=False, **kwargs)

    return invoke


@pytest.fixture
def tiny_images() -> Callable[..., Any]:
    """``tiny_images(n=4, channels=3, size=16, seed=0)``: smooth random float images [N, C, H, W] in [0, 1]
    with edges (``size`` an int or ``(height, width)``; channels 2 or 4 get a binary alpha)."""
    return make_tiny_images


@pytest.fixture
def tiny_run(tmp_path: Path) -> Callable[..., Path]:
    """``tiny_run(app, model, data, steps=2, batch_size=4, num_samples=4, seed=0)``: a freshly trained run
    folder under the test's tmp_path (CPU, fp32), for testing commands that read one (see make_tiny_run)."""

    def make(app: App, model: str, data: str, **options: Any) -> Path:
        return make_tiny_run(app, tmp_path / "runs", model, data, **options)

    return make
