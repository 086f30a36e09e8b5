"""Model files made here from spandrel's own classes with random weights: no download anywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from spandrel_tiny import tiny_state


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``model_file(arch, suffix)``: the tiny random model for ``arch`` saved as .safetensors or .pth."""
    folder = tmp_path_factory.mktemp("models")
    made: dict[tuple[str, str], Path] = {}

    def make(arch: str, suffix: str = ".safetensors") -> Path:
        if (arch, suffix) not in made:
            state = tiny_state(arch)
            path = folder / f"{arch}{suffix}"
            if suffix == ".safetensors":
                save_file(state, str(path))
            else:  # as community .pth files usually are: a training checkpoint wrapping the weights
                torch.save({"params_ema": state, "iter": 1000}, path)
            made[(arch, suffix)] = path
        return made[(arch, suffix)]

    return make
