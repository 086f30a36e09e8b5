"""Shared test helpers: a toy plugin with a tiny model, dataset and post-processor, so core tests run
in milliseconds and exercise the plugin API exactly as a third party would."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import torch

# Tests must never pick up a developer's plugin selection.
os.environ.pop("GENART_LOAD_PLUGINS", None)
# nor write decode caches into the developer's home
os.environ["GENART_CACHE_DIR"] = tempfile.mkdtemp(prefix="genart-test-cache-")
atexit.register(shutil.rmtree, os.environ["GENART_CACHE_DIR"], True)


@pytest.fixture
def aot_eager(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """``torch.compile`` with the aot_eager backend (no C++ toolchain needed), listing what was compiled;
    dynamo's caches are reset around the test so graph counts are the test's own."""
    compiled: list[Any] = []
    real = torch.compile

    def compile_with_aot_eager(fn: Any, **kwargs: Any) -> Any:
        compiled.append(fn)
        return real(fn, backend="aot_eager")

    monkeypatch.setattr(torch, "compile", compile_with_aot_eager)
    torch._dynamo.reset()
    yield compiled
    torch._dynamo.reset()
