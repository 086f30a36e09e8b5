from __future__ import annotations

import pytest

import genart_toy_plugin
from genart.plugins import App


@pytest.fixture
def toy_app() -> App:
    """An App holding only the toy plugin (a tiny third-party-style plugin from tests/support)."""
    app = App()
    app.register(genart_toy_plugin, "toy")
    return app
