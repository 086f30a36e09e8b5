"""CPU training keeps freed memory: a step's activations come back without page faults."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genart.contract.plugins import App
from genart.loop import allocator
from genart.loop.train import TrainConfig, train
from genart.testing import build_context

glibc_only = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="the setting is glibc's")

# Page faults per "step" that allocates, touches and frees one 40 MiB and sixteen 2 MiB activations, before
# and after keep_freed_memory(). 40 MiB is above the largest mmap threshold glibc's dynamic defaults reach
# (32 MiB), so with the defaults that block alone is mapped and faulted in afresh every step (10 240 faults of
# 4 KiB), whatever the process allocated before; what the 2 MiB blocks cost depends on that history. Run in a
# fresh interpreter: the setting lasts for the whole process.
PROBE = """
import json, resource, torch
from genart.loop.allocator import keep_freed_memory

def faults_per_step():
    def step():
        activations = [torch.empty(10 * 2**20).fill_(1.0)] + [torch.empty(2**19).fill_(1.0) for _ in range(16)]
        del activations
    step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10

default = faults_per_step()
kept = keep_freed_memory()
print(json.dumps({"kept": kept, "default": default, "after": faults_per_step()}))
"""


def probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ("GENART_KEEP_FREED_MEMORY", *allocator._USER_SETTINGS)}
    done = subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


@glibc_only
def test_freed_activations_come_back_without_page_faults() -> None:
    result = probe()
    assert result["kept"] is True
    assert result["default"] > 10_000, result
    assert result["after"] < result["default"] / 10, result


@glibc_only
def test_the_user_can_opt_out_or_tune_malloc_themselves() -> None:
    for env in ({"GENART_KEEP_FREED_MEMORY": "0"}, {"MALLOC_TRIM_THRESHOLD_": "1000000"}):
        result = probe(**env)
        assert result["kept"] is False, env
        assert result["after"] > result["default"] / 2, (env, result)


def test_the_cpu_training_loop_applies_it(toy_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genart.runner.pipeline import build_model, load_data

    calls: list[int] = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: calls.append(1) or True)
    context = build_context(toy_app)
    torch.manual_seed(0)
    model = build_model(context, "toy")
    train(model, load_data(context, "dots", 8, 3), TrainConfig(steps=2, batch_size=4, progress=False),
          device=torch.device("cpu"), checkpoint_path=tmp_path / "c.safetensors")
    assert calls == [1]
