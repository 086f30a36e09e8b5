"""The one training loop: reproducible, resumable exactly, checkpoints, NaN handling."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genart.contract.plugins import App
from genart.errors import TrainingDiverged
from genart.loop.checkpoints import restore_checkpoint
from genart.loop.train import TrainConfig, batch_indices, train
from genart.runner.pipeline import build_model, load_data
from genart.testing import build_context


def make(toy_app: App, spec: str = "toy") -> tuple:
    context = build_context(toy_app)
    model = build_model(context, spec)
    data = load_data(context, "dots", 8, 3)
    return model, data, context


def weights(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.net.parameters()])


def test_batch_order_is_a_function_of_seed_and_step() -> None:
    assert torch.equal(batch_indices(7, 20, 4, seed=1), batch_indices(7, 20, 4, seed=1))
    assert not torch.equal(batch_indices(7, 20, 4, seed=1), batch_indices(7, 20, 4, seed=2))
    epoch = torch.cat([batch_indices(s, 20, 4, seed=0) for s in range(5)])
    assert sorted(epoch.tolist()) == list(range(20)), "each epoch visits every image once"
    assert batch_indices(0, 3, 8, seed=0).shape == (8,), "tiny datasets repeat to fill a batch"


def test_same_seed_same_weights(toy_app: App, tmp_path: Path) -> None:
    results = []
    for run in range(2):
        torch.manual_seed(0)
        model, data, context = make(toy_app)
        train(model, data, TrainConfig(steps=10, batch_size=4, progress=False), device=context.device,
              checkpoint_path=tmp_path / f"{run}.safetensors")
        results.append(weights(model))
    assert torch.equal(results[0], results[1])


def test_resume_continues_exactly(toy_app: App, tmp_path: Path) -> None:
    torch.manual_seed(0)
    straight, data, context = make(toy_app)
    train(straight, data, TrainConfig(steps=10, batch_size=4, progress=False), device=context.device,
          checkpoint_path=tmp_path / "straight.safetensors")

    torch.manual_seed(0)
    first, _, _ = make(toy_app)
    train(first, data, TrainConfig(steps=4, batch_size=4, progress=False), device=context.device,
          checkpoint_path=tmp_path / "part.safetensors")
    torch.manual_seed(123)  # a new process would start from another RNG state
    second, _, _ = make(toy_app)
    start = restore_checkpoint(second, tmp_path / "part.safetensors")
    assert start == 4
    train(second, data, TrainConfig(steps=10, batch_size=4, progress=False), device=context.device,
          checkpoint_path=tmp_path / "part.safetensors", start_step=start)
    assert torch.equal(weights(straight), weights(second))


def test_periodic_checkpoints(toy_app: App, tmp_path: Path) -> None:
    model, data, context = make(toy_app)
    saved: list[int] = []
    train(model, data, TrainConfig(steps=7, batch_size=4, checkpoint_every=3, progress=False),
          device=context.device, checkpoint_path=tmp_path / "c.safetensors", on_checkpoint=saved.append)
    assert saved == [3, 6, 7]


def test_nan_loss_stops_with_the_last_good_checkpoint(toy_app: App, tmp_path: Path) -> None:
    model, data, context = make(toy_app, "toy:blowup=5")
    path = tmp_path / "c.safetensors"
    with pytest.raises(TrainingDiverged, match=r"became nan at step 5.*step 3"):
        train(model, data, TrainConfig(steps=10, batch_size=4, checkpoint_every=3, progress=False),
              device=context.device, checkpoint_path=path)
    fresh, _, _ = make(toy_app)
    assert restore_checkpoint(fresh, path) == 3
    assert torch.isfinite(weights(fresh)).all()


def test_interrupt_request_saves_and_stops(toy_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import genart.loop.train as loop

    model, data, context = make(toy_app)
    calls = {"n": 0}
    original = model.train_step

    def step_then_interrupt(batch):
        calls["n"] += 1
        if calls["n"] == 3:
            import os
            import signal

            os.kill(os.getpid(), signal.SIGINT)
        return original(batch)

    model.train_step = step_then_interrupt
    result = loop.train(model, data, TrainConfig(steps=50, batch_size=4, progress=False), device=context.device,
                        checkpoint_path=tmp_path / "c.safetensors")
    assert result.interrupted and result.step == 3
    fresh, _, _ = make(toy_app)
    assert restore_checkpoint(fresh, tmp_path / "c.safetensors") == 3


class Recorder:
    """The toy model plus ``set_progress`` (genart.FollowsProgress), keeping every value the loop gives."""

    def __init__(self, model) -> None:
        self.model = model
        self.image_shape = model.image_shape
        self.seen: list[float] = []

    def set_progress(self, progress: float) -> None:
        self.seen.append(progress)

    def train_step(self, batch):
        return self.model.train_step(batch)

    def sample(self, n, generator):
        return self.model.sample(n, generator)

    def state_dict(self):
        return self.model.state_dict()

    def load_state_dict(self, state) -> None:
        self.model.load_state_dict(state)


def test_progress_by_steps_is_told_before_each_step_and_resumes(toy_app: App, tmp_path: Path) -> None:
    import genart

    model, data, context = make(toy_app)
    assert not isinstance(model, genart.FollowsProgress)
    recorder = Recorder(model)
    assert isinstance(recorder, genart.FollowsProgress)
    train(recorder, data, TrainConfig(steps=4, batch_size=4, progress=False), device=context.device,
          checkpoint_path=tmp_path / "c.safetensors")
    assert recorder.seen == [0, 0.25, 0.5, 0.75]
    resumed = Recorder(make(toy_app)[0])
    start = restore_checkpoint(resumed, tmp_path / "c.safetensors")
    train(resumed, data, TrainConfig(steps=8, batch_size=4, progress=False), device=context.device,
          checkpoint_path=tmp_path / "c.safetensors", start_step=start)
    assert resumed.seen == [0.5, 0.625, 0.75, 0.875], "the share of the whole run, the same as uninterrupted"


def test_progress_under_minutes_follows_the_clock(toy_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    import genart.loop.train as loop

    clock = {"now": 100.0}

    def tick() -> float:  # every step takes 6 s of a 30 s budget
        return clock["now"]

    model, data, context = make(toy_app)
    recorder = Recorder(model)
    original = recorder.train_step

    def timed_step(batch):
        clock["now"] += 6.0
        return original(batch)

    recorder.train_step = timed_step  # type: ignore[method-assign]
    monkeypatch.setattr(loop.time, "perf_counter", tick)
    result = loop.train(recorder, data, TrainConfig(steps=loop.UNLIMITED, batch_size=4, progress=False,
                                                    minutes=0.5), device=context.device, checkpoint_path=None)
    assert result.step == 5
    assert recorder.seen == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])


def test_run_progress_takes_whichever_budget_ends_first() -> None:
    from genart.loop.train import UNLIMITED, run_progress

    assert run_progress(5, 10, 0.0, None) == 0.5
    assert run_progress(5, UNLIMITED, 30.0, 1.0) == 0.5
    assert run_progress(2, 10, 45.0, 1.0) == 0.75, "the clock ends this run before its steps do"
    assert run_progress(8, 10, 6.0, 1.0) == 0.8
    assert run_progress(3, 10, 120.0, 1.0) == 1.0
