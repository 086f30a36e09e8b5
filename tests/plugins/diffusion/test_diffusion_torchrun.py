"""The diffusion model trains data-parallel under torchrun (2 gloo processes on the CPU).

The core's torchrun test (tests/core/test_distributed.py) uses the toy model only. The diffusion model
is the one built-in model that keeps a second, gradient-free module (the EMA copy) beside its network,
and draws fresh noise and noise levels per rank, so it gets its own check: the job finishes, one run
folder records both ranks, and the checkpoint's network and EMA are finite and have moved from their
start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genart.records.runs import load_checkpoint

SCRIPT = """
import sys
from genart.cli import main

main(sys.argv[1:])
"""

ARGS = ["train", "--model", "diffusion:image_size=28,channels=1,width=8,steps=2", "--data", "shapes:count=16",
        "--steps", "4", "--batch-size", "8", "--seed", "3", "-q", "--device", "cpu", "--precision", "fp32"]


def train_two_processes(tmp_path: Path, out: Path) -> Path:
    script = tmp_path / "genart_cli.py"
    script.write_text(SCRIPT)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)]
    result = subprocess.run([*command, *ARGS, "--out", str(out)], capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


@pytest.mark.slow
def test_diffusion_trains_under_torchrun_with_two_gloo_processes(tmp_path: Path) -> None:
    run = train_two_processes(tmp_path, tmp_path / "ddp")
    assert json.loads((run / "manifest.json").read_text())["world_size"] == 2
    state, _ = load_checkpoint(run / "checkpoint.safetensors")
    assert state["loop"]["step"] == 4
    net, ema = state["model"]["net"], state["model"]["ema"]
    assert net.keys() == ema.keys()
    for name, tensor in [*net.items(), *ema.items()]:
        assert torch.isfinite(tensor).all(), name
    # the output layer starts at zero: after 4 steps both the network and its average have left it
    (head,) = [name for name in net if name.startswith("head.") and net[name].dim() == 4]
    assert net[head].abs().sum() > 0 and ema[head].abs().sum() > 0
    assert not torch.equal(net[head], ema[head]), "the EMA lags the network"
