"""The tutorial's example plugin, installed as a real package, works through entry points."""

from __future__ import annotations

from typing import Any

import pytest

from genart.contract.plugins import App
from genart.testing import build_context, check_dataset, check_post_processor


@pytest.fixture
def app() -> App:
    app = App.from_entry_points(only=None)
    record = app.records.get("hello")
    assert record is not None, "install it: pip install -e examples/genart-hello-plugin"
    assert record.status == "loaded", record.error
    return app


def test_components_are_registered_with_provenance(app: App) -> None:
    assert app.registry.get("post", "posterize").plugin == "hello"
    assert app.registry.get("dataset", "stripes").plugin == "hello"


def test_contracts(app: App) -> None:
    context = build_context(app)
    check_post_processor(context.build("post", "posterize:levels=3"))
    check_dataset(context.build("dataset", "stripes:count=4"))


def test_posterize_levels(app: App) -> None:
    import torch

    out = build_context(app).build("post", "posterize:levels=2")(torch.rand(1, 3, 8, 8))
    assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_cli_uses_the_plugin(genart_cli: Any, app: App, tmp_path: Any) -> None:
    result = genart_cli(["run", "--model", "vae:width=4,latent=2,image_size=8", "--data", "stripes:count=8",
                         "--post", "posterize:levels=3", "--steps", "2", "--batch-size", "4", "-n", "2", "-q",
                         "--out", str(tmp_path)], app=app)
    assert result.exit_code == 0, result.output
    bad = genart_cli(["run", "--post", "posterize:levels=1", "--out", str(tmp_path)], app=app)
    assert bad.exit_code == 2 and "levels must be between 2 and 256" in bad.output
