"""The training-memory probe (issue 38): a batch whose activations cannot fit is refused before the run
folder exists, and probing leaves the run's bytes exactly as they would have been."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from genart.api import App
from genart.loop import memory, probe
from genart.runner.pipeline import build_model, load_data
from genart.testing import build_context


def test_saved_bytes_count_each_storage_once_and_only_while_the_graph_holds_it() -> None:
    counter = probe.SavedBytes()
    x = torch.ones(1000, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(counter.pack, counter.unpack):
        y = (x * x).sum()  # mul saves x twice: one storage
        assert counter.current == 4000
        y.backward()
        del y
    assert counter.peak == 4000 and counter.current == 0


def step_cost(app: App, spec: str, data_spec: str, size: int) -> tuple[probe.StepCost, int]:
    torch.manual_seed(0)
    context = build_context(app)
    model = build_model(context, spec)
    data = load_data(context, data_spec, size, 3)
    layout = torch.contiguous_format

    def batch_of(images: int) -> tuple[Any, ...]:
        return (data[:images].float().div(255).contiguous(memory_format=layout),)

    cost = probe.measure_step(model, "train_step", batch_of, probe.autocast_for(context.device, context.precision),
                              context.device)
    assert cost is not None
    return cost, 3 * size * size


def test_one_images_share_grows_with_its_pixels(toy_app: App) -> None:
    small, values = step_cost(toy_app, "toy:image_size=8", "dots", 8)
    large, _ = step_cost(toy_app, "toy:image_size=16", "dots", 16)
    assert small.per_image >= values * 4  # at least the float32 output it compares with the batch
    assert 3.5 < large.per_image / small.per_image < 4.5


@pytest.mark.parametrize("model", ["vae", "gan", "diffusion"])
def test_the_built_in_models_stay_far_below_the_probe_threshold(builtin_app: App, model: str) -> None:
    """PROBE_RATIO decides which batches are probed at all: a model whose activations per input byte came
    near it could pass unprobed and be killed. Measured: 16 (vae), 21 (gan), 73 (diffusion) at 32 px."""
    cost, values = step_cost(builtin_app, f"{model}:image_size=32", "shapes:count=8", 32)
    ratio = cost.per_image / (values * probe.BATCH_BYTES_PER_VALUE)
    assert 1 < ratio < probe.PROBE_RATIO / 5


def low_memory(monkeypatch: pytest.MonkeyPatch, free: int) -> None:
    monkeypatch.setattr(memory, "available_bytes", lambda device=None: free)
    monkeypatch.setattr(probe, "available_bytes", lambda device=None: free)


def test_a_batch_whose_activations_cannot_fit_is_refused_up_front(genart_cli: Any, toy_app: App, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: only the batch itself was counted, so this ran (and on a real machine, a 256 px VAE batch
    of 4096 was killed by the system, exit 137, without a word)."""
    values = 3 * 8 * 8
    low_memory(monkeypatch, 20 * values * probe.BATCH_BYTES_PER_VALUE)  # the batch of 16 itself fits
    out = tmp_path / "runs"
    result = genart_cli(["train", "--model", "toy", "--data", "dots", "--batch-size", "16", "--steps", "1",
                         "--out", str(out)], app=toy_app)
    assert result.exit_code == 7, result.output
    line = result.output.strip().splitlines()[-1]
    assert "batch of 16 images of 3x8x8" in line and "activations per image" in line and "--batch-size" in line
    assert "could fit" in line
    assert not out.exists()


def test_probing_leaves_the_run_exactly_as_it_was(genart_cli: Any, toy_app: App, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe steps a deep copy under a forked RNG: with it forced on, the checkpoint has the same bytes."""
    probed: list[int] = []
    measure = probe.measure_step

    def counted(*args: Any) -> Any:
        cost = measure(*args)
        probed.append(0 if cost is None else cost.per_image)
        return cost

    monkeypatch.setattr(probe, "measure_step", counted)
    checkpoints = []
    for ratio in (0, 10**12):
        monkeypatch.setattr(probe, "PROBE_RATIO", ratio)
        out = tmp_path / f"runs-{ratio}"
        result = genart_cli(["train", "--model", "toy:deterministic=false", "--data", "dots", "--steps", "4",
                             "--out", str(out)], app=toy_app)
        assert result.exit_code == 0, result.output
        (run,) = out.iterdir()
        checkpoints.append((run / "checkpoint.safetensors").read_bytes())
    assert len(probed) == 1 and probed[0] > 0  # probed in the second run only
    assert checkpoints[0] == checkpoints[1]


def test_a_model_that_cannot_be_stepped_at_one_image_is_not_probed() -> None:
    class NeedsTwo:
        def train_step(self, batch: Any) -> dict[str, float]:
            if batch.shape[0] < 2:
                raise ValueError("Expected more than 1 value per channel when training")
            return {}

    cost = probe.measure_step(NeedsTwo(), "train_step", lambda n: (torch.zeros(n, 3, 4, 4),),
                              probe.autocast_for(torch.device("cpu"), None), torch.device("cpu"))
    assert cost is None
