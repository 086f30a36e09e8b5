from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any

import pytest

import genart_toy_plugin
from genart.contract.plugins import App


@pytest.fixture
def toy_app() -> App:
    """An App holding only the toy plugin (a tiny third-party-style plugin from tests/support)."""
    app = App()
    app.register(genart_toy_plugin, "toy")
    return app


@pytest.fixture
def add_entry_point(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Pretend a third-party distribution installed an entry point ``name = module`` in the genart group."""
    added: list[metadata.EntryPoint] = []
    real = metadata.entry_points

    def fake_entry_points(group: str | None = None, **kwargs: Any) -> Any:
        found = list(real(group=group, **kwargs))
        return [*found, *added] if group == "genart" else found

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)
    return lambda name, module: added.append(metadata.EntryPoint(name, module, "genart"))
