"""Data-parallel training under torchrun: 2 gloo processes agree with each other and with one
process on the same global batch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genart.records.runs import load_checkpoint

SCRIPT = """
import sys
import genart_labelled_plugin
import genart_toy_plugin
from genart.cli import exit_distributed, make_cli
from genart.contract.plugins import App

app = App()
app.register(genart_toy_plugin, "toy")
app.register(genart_labelled_plugin, "labelled")
exit_distributed(make_cli(app), sys.argv[1:])
"""

ARGS = ["train", "--model", "toy:deterministic=true", "--data", "dots:count=24", "--steps", "6",
        "--batch-size", "8", "--seed", "4", "-q", "--device", "cpu", "--precision", "fp32"]


def launch(tmp_path: Path, nproc: int, out: Path, extra: list[str] | None = None) -> subprocess.CompletedProcess:
    script = tmp_path / "toy_cli.py"
    script.write_text(SCRIPT)
    support = str(Path(__file__).resolve().parents[1] / "support")
    env = {**os.environ, "PYTHONPATH": support + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    if nproc == 1:
        command = [sys.executable, str(script)]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                   str(script)]
    result = subprocess.run([*command, *ARGS, "--out", str(out), *(extra or [])], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def run_folder(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path: Path) -> None:
    launch(tmp_path, 1, tmp_path / "single")
    launch(tmp_path, 2, tmp_path / "ddp")
    single, _ = load_checkpoint(run_folder(tmp_path / "single") / "checkpoint.safetensors")
    ddp, _ = load_checkpoint(run_folder(tmp_path / "ddp") / "checkpoint.safetensors")
    for name, tensor in single["model"]["net"].items():
        assert torch.allclose(tensor, ddp["model"]["net"][name], atol=1e-6), name
    manifest = json.loads((run_folder(tmp_path / "ddp") / "manifest.json").read_text())
    assert manifest["world_size"] == 2
    assert len(list((tmp_path / "ddp").iterdir())) == 1, "only rank 0 creates a run folder"


@pytest.mark.slow
def test_ranks_hold_identical_parameters_and_resume_on_another_world_size(tmp_path: Path) -> None:
    # 2 processes for 6 steps, then resume to 10 steps in 1 process: same as 10 steps in 1 process.
    launch(tmp_path, 2, tmp_path / "a")
    run = run_folder(tmp_path / "a")
    launch(tmp_path, 1, tmp_path / "unused", ["--resume", str(run), "--steps", "10"])
    launch(tmp_path, 1, tmp_path / "straight", ["--steps", "10"])
    resumed, _ = load_checkpoint(run / "checkpoint.safetensors")
    straight, _ = load_checkpoint(run_folder(tmp_path / "straight") / "checkpoint.safetensors")
    assert resumed["loop"]["step"] == 10
    for name, tensor in straight["model"]["net"].items():
        assert torch.allclose(tensor, resumed["model"]["net"][name], atol=1e-5), name
    shutil.rmtree(tmp_path / "unused", ignore_errors=True)


def test_attach_finds_optimisers_inside_containers() -> None:
    from genart.loop.distributed import find_optimizers_and_modules

    class Model:
        def __init__(self) -> None:
            self.nets = {"g": torch.nn.Linear(2, 2), "d": torch.nn.Linear(2, 1)}
            self.opts = [torch.optim.SGD(self.nets["g"].parameters(), lr=0.1),
                         torch.optim.SGD(self.nets["d"].parameters(), lr=0.1)]

    optimizers, modules = find_optimizers_and_modules(Model())
    assert len(optimizers) == 2 and len(modules) == 2


@pytest.mark.slow
def test_labels_are_sharded_with_their_images(tmp_path: Path) -> None:
    """A conditional model under 2 processes learns the same class images as in one: each rank's labels
    are those of its own shard of the batch (a mismatch would pull the class images apart)."""
    extra = ["--model", "toy-cond:deterministic=true", "--data", "tiles:count=24"]
    launch(tmp_path, 1, tmp_path / "single", extra)
    launch(tmp_path, 2, tmp_path / "ddp", extra)
    single, _ = load_checkpoint(run_folder(tmp_path / "single") / "checkpoint.safetensors")
    ddp, _ = load_checkpoint(run_folder(tmp_path / "ddp") / "checkpoint.safetensors")
    assert float(single["model"]["classes"]["weight"].abs().max()) > 0.05, "the class images trained"
    for part in ("net", "classes"):
        for name, tensor in single["model"][part].items():
            assert torch.allclose(tensor, ddp["model"][part][name], atol=1e-5), (part, name)
