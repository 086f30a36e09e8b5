"""What the core loop shows of every run: snapshots, strip, curves, metrics, progress events, --minutes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from genart.contract.plugins import App
from genart.records.metrics import read_metrics
from genart.records.monitor import Events, Monitor, default_sample_every


def only_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def train(genart_cli: Any, app: App, out: Path, *extra: str) -> Any:
    result = genart_cli(["run", "--model", "toy", "--data", "dots", "--out", str(out), "-n", "4", *extra], app=app)
    assert result.exit_code == 0, result.output
    return result


def test_run_writes_snapshots_strip_curves_metrics_and_report(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    train(genart_cli, toy_app, tmp_path, "--steps", "9", "--sample-every", "4", "-q")
    run = only_run(tmp_path)
    snapshots = sorted(p.name for p in (run / "snapshots").iterdir())
    assert snapshots == ["step-000000.png", "step-000004.png", "step-000008.png", "step-000009.png"]
    assert (run / "progress.png").is_file() and (run / "curves.png").is_file() and (run / "report.html").is_file()
    records = read_metrics(run / "metrics.jsonl")
    assert [r["step"] for r in records] == list(range(1, 10))
    assert {"mse", "time", "images_per_second"} <= set(records[0])
    from PIL import Image

    with Image.open(run / "progress.png") as strip, Image.open(run / "snapshots" / snapshots[0]) as first:
        assert strip.width > 3 * first.width, "the strip holds every snapshot side by side"


def test_last_snapshot_is_the_final_grid(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    train(genart_cli, toy_app, tmp_path, "--steps", "6", "--sample-every", "3", "-n", "16", "-q")
    run = only_run(tmp_path)
    from genart.images import load_image

    assert torch.equal(load_image(run / "snapshots" / "step-000006.png"), load_image(run / "grid.png"))


def test_snapshots_do_not_change_training(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    train(genart_cli, toy_app, tmp_path / "a", "--steps", "8", "--sample-every", "1", "-q")
    train(genart_cli, toy_app, tmp_path / "b", "--steps", "8", "--sample-every", "0", "-q")
    a, b = only_run(tmp_path / "a"), only_run(tmp_path / "b")
    assert (a / "checkpoint.safetensors").read_bytes() == (b / "checkpoint.safetensors").read_bytes()
    assert not (b / "snapshots").exists() and not (b / "progress.png").exists()
    losses = [[r["mse"] for r in read_metrics(run / "metrics.jsonl")] for run in (a, b)]
    assert losses[0] == losses[1]


def test_resume_continues_metrics(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    train(genart_cli, toy_app, tmp_path, "--steps", "5", "-q")
    run = only_run(tmp_path)
    result = genart_cli(["run", "--resume", str(run), "--steps", "9", "-q"], app=toy_app)
    assert result.exit_code == 0, result.output
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == list(range(1, 10))


def test_json_progress_events(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    result = train(genart_cli, toy_app, tmp_path, "--steps", "6", "--checkpoint-every", "3", "--sample-every", "3",
                   "--progress", "json")
    events = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON
    kinds = [e["event"] for e in events]
    assert kinds[0] == "message" and "start" in kinds and kinds[-1] == "done"
    assert {"step", "checkpoint", "sample"} <= set(kinds)
    step = [e for e in events if e["event"] == "step"][-1]
    assert step["step"] == 6 and "mse" in step["losses"] and "eta_s" in step


def test_json_error_event(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    result = genart_cli(["run", "--model", "toy:blowup=3", "--data", "dots", "--out", str(tmp_path),
                         "--progress", "json"], app=toy_app)
    assert result.exit_code != 0
    errors = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert errors[-1]["event"] == "error" and "became nan" in errors[-1]["message"]


def test_json_mode_reports_a_failure_as_the_error_event_alone(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    """docs/runs.md: one JSON object per line on stderr, the error included (no trailing text line)."""
    result = genart_cli(["run", "--model", "toy:blowup=3", "--data", "dots", "--out", str(tmp_path),
                         "--progress", "json"], app=toy_app)
    assert result.exit_code == 3  # TrainingDiverged's code, as without json
    events = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON
    assert events[-1]["event"] == "error" and "became nan" in events[-1]["message"]
    assert result.stdout == ""


def test_json_mode_reports_an_early_failure_as_an_error_event(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    result = genart_cli(["run", "--model", "nosuch", "--data", "dots", "--out", str(tmp_path),
                         "--progress", "json"], app=toy_app)
    assert result.exit_code == 2
    (event,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert event["event"] == "error" and "nosuch" in event["message"]


def test_plain_progress_lines(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    result = train(genart_cli, toy_app, tmp_path, "--steps", "40", "--progress", "plain")
    lines = [line for line in result.stderr.splitlines() if line.startswith("step ")]
    assert lines and lines[-1].startswith("step 40/40") and "mse" in lines[-1] and "img/s" in lines[-1]
    assert len(lines) <= 21


def test_minutes_stops_on_the_clock(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    train(genart_cli, toy_app, tmp_path, "--minutes", "0.002", "--sample-every", "0", "-q")
    run = only_run(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    done = manifest["train"]["steps_done"]
    assert done >= 1 and manifest["train"]["steps"] == done and manifest["train"]["minutes"] == 0.002
    assert len(read_metrics(run / "metrics.jsonl")) == done and (run / "grid.png").is_file()


def test_tensorboard_without_the_package_is_one_line(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("tensorboard is installed here")
    result = genart_cli(["run", "--model", "toy", "--data", "dots", "--out", str(tmp_path), "--tensorboard"],
                        app=toy_app)
    assert result.exit_code == 2 and "tensorboard" in result.output and "Traceback" not in result.output


def test_model_that_cannot_sample_gets_no_snapshots(tmp_path: Path) -> None:
    class NoSampler:
        pass

    monitor = Monitor(tmp_path, NoSampler(), seed=0, batch_size=2, steps=4, sample_every=1, events=Events("none"))
    monitor.start(0)
    monitor.step(1, {"loss": 1.0})
    monitor.finish(1)
    assert not (tmp_path / "snapshots").exists() and (tmp_path / "curves.png").is_file()


def test_extra_metrics_join_each_metrics_line(tmp_path: Path) -> None:
    class WithLearningRate:
        def extra_metrics(self) -> dict[str, float]:
            return {"lr": 0.5, "loss": 9.0}  # a name train_step already returned is not overwritten

    monitor = Monitor(tmp_path, WithLearningRate(), seed=0, batch_size=2, steps=2, sample_every=0,
                      events=Events("none"))
    monitor.start(0)
    monitor.step(1, {"loss": 1.0})
    monitor.finish(1)
    (line,) = read_metrics(tmp_path / "metrics.jsonl")
    assert line["lr"] == 0.5 and line["loss"] == 1.0


def test_default_sample_every() -> None:
    assert default_sample_every(object(), 2000) == 200
    assert default_sample_every(object(), 1600) == 100
    assert default_sample_every(object(), 6) == 1
    assert default_sample_every(type("M", (), {"default_sample_every": 0})(), 2000) == 0


def test_tensorboard_event_files(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="the tensorboard package is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(genart_cli, toy_app, tmp_path, "--steps", "6", "--sample-every", "3", "--tensorboard", "-q")
    events = EventAccumulator(str(only_run(tmp_path) / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("mse")] == list(range(1, 7))
    assert [e.step for e in events.Images("snapshots")] == [0, 3, 6]


def test_progress_strip_labels_are_large_and_black(tmp_path: Path) -> None:
    """The step labels were the 11 px bitmap font in grey under 122 px thumbnails: unreadable once a report
    shrank the strip. Each label is now at least 16 px tall, black on a light band, under a snapshot enlarged
    to at least 256 px, with at most 6 snapshots to a row."""
    import numpy as np
    from PIL import Image

    from genart.records.plots import progress_strip

    snapshots = []
    for step in (0, 500, 1000, 1500, 2000, 2500, 3000, 3500):
        file = tmp_path / f"step-{step:06d}.png"
        Image.new("RGB", (122, 122), (90, 140, 200)).save(file)
        snapshots.append((step, file))
    strip = progress_strip(snapshots)
    pixels = np.asarray(strip.convert("L"))
    side = 3 * 122  # enlarged by a whole multiple to at least 256 px
    assert strip.width == 6 * side + 5 * 12 and strip.height > 2 * side, "two rows, not one very wide strip"
    band = pixels[side + 2:side + 40, :side]  # under the first snapshot
    ink_rows = np.nonzero((band < 60).any(1))[0]
    assert len(ink_rows) and ink_rows.max() - ink_rows.min() + 1 >= 16, "label glyphs at least 16 px tall"
    assert band.min() < 30, "black text"
    second_row = pixels[strip.height - 30:, :side]
    assert (second_row < 60).any(), "the snapshots after the sixth are on a second row, labelled"
