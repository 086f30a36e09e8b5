"""What ``--resume`` refuses, what a failed run leaves behind, and that files keep the user's umask.

Each test reproduces one report of issue 24 on the toy plugin (milliseconds per run)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

import genart
from genart.contract.plugins import App
from genart.records.runs import CHECKPOINT, MANIFEST, atomic_path


def run(cli: Any, app: App, args: list[str]) -> Any:
    return cli(args, app=app)


def only_run(out: Path) -> Path:
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


def manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text())


def one_line_error(result: Any) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output, result.output
    errors = [line for line in lines if line.startswith("genart: error:")]
    assert len(errors) == 1, result.output
    return errors[0]


@pytest.fixture
def finished(genart_cli: Any, toy_app: App, tmp_path: Path) -> Path:
    result = run(genart_cli, toy_app, ["run", "--model", "toy", "--data", "dots", "--steps", "4", "--seed", "2",
                                       "--out", str(tmp_path / "runs"), "-q", "-n", "2"])
    assert result.exit_code == 0, result.output
    return only_run(tmp_path / "runs")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_resuming_a_finished_run_refuses_and_keeps_its_outputs(genart_cli: Any, toy_app: App, finished: Path) -> None:
    before = snapshot(finished)
    result = run(genart_cli, toy_app, ["run", "--resume", str(finished), "--post", "invert", "-q"])
    assert result.exit_code == 2
    assert "--post" in one_line_error(result)
    result = run(genart_cli, toy_app, ["run", "--resume", str(finished), "-q"])
    assert result.exit_code == 2 and "finished" in one_line_error(result)
    assert snapshot(finished) == before


@pytest.mark.parametrize(("option", "value"), [("--model", "toy:image_size=4"), ("--data", "dots:count=3"),
                                               ("--seed", "5"), ("--batch-size", "2")])
def test_resume_refuses_options_it_would_ignore(genart_cli: Any, toy_app: App, finished: Path, option: str,
                                                value: str) -> None:
    before = snapshot(finished)
    result = run(genart_cli, toy_app, ["run", "--resume", str(finished), "--steps", "8", option, value, "-q"])
    assert result.exit_code == 2
    assert option in one_line_error(result)
    assert snapshot(finished) == before


def test_resume_with_the_same_options_is_fine_and_records_the_steps(genart_cli: Any, toy_app: App,
                                                                    finished: Path) -> None:
    result = run(genart_cli, toy_app, ["run", "--resume", str(finished), "--steps", "9", "--seed", "2",
                                       "--model", "toy", "-q"])
    assert result.exit_code == 0, result.output
    recorded = manifest(finished)
    assert recorded["train"]["steps"] == 9 and recorded["train"]["steps_done"] == 9
    assert recorded["command"].startswith("genart") and len(recorded["resumed"]) == 1
    assert recorded["resumed"][0]["from_step"] == 4


def test_resume_needs_more_steps_than_done(genart_cli: Any, toy_app: App, finished: Path) -> None:
    result = run(genart_cli, toy_app, ["run", "--resume", str(finished), "--steps", "3", "-q"])
    assert result.exit_code == 2 and "has done 4 steps" in one_line_error(result)
    assert manifest(finished)["train"]["steps"] == 4


def test_resume_without_a_checkpoint_is_an_error_not_a_retrain(genart_cli: Any, toy_app: App,
                                                                finished: Path) -> None:
    (finished / CHECKPOINT).unlink()
    result = run(genart_cli, toy_app, ["run", "--resume", str(finished), "--steps", "8", "-q"])
    assert result.exit_code == 2 and CHECKPOINT in one_line_error(result)
    assert not (finished / CHECKPOINT).exists()


def test_stale_temporary_files_are_removed_on_resume(genart_cli: Any, toy_app: App, finished: Path) -> None:
    stale = finished / ".checkpoint.safetensors.abcd1234.tmp"
    stale.write_bytes(b"")  # what kill -9 in the middle of a checkpoint write leaves
    result = run(genart_cli, toy_app, ["run", "--resume", str(finished), "--steps", "6", "-q"])
    assert result.exit_code == 0, result.output
    assert not stale.exists()


def test_a_dataset_error_leaves_no_run_folder(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    result = run(genart_cli, toy_app, ["run", "--model", "toy", "--data", "dots:split=test,holdout=0",
                                       "--out", str(tmp_path / "runs"), "-q"])
    assert result.exit_code != 0
    one_line_error(result)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


class Crashing:
    """A third-party plugin whose components raise plain Python errors."""

    class Model:
        image_shape = (3, 8, 8)
        default_steps = 5
        default_batch_size = 2

        def __init__(self, params: Any, context: Any) -> None:
            self.calls = 0

        def train_step(self, batch: Any) -> dict[str, float]:
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("index 7 is out of bounds")
            return {"loss": 1.0}

        def sample(self, n: int, generator: Any) -> Any:
            import torch

            return torch.zeros(n, 3, 8, 8)

        def state_dict(self) -> dict[str, Any]:
            return {"calls": self.calls}

        def load_state_dict(self, state: dict[str, Any]) -> None:
            self.calls = int(state["calls"])

    @genart.hookimpl
    def register_models(self, register: Any) -> None:
        register("crashy", lambda p, c: Crashing.Model(p, c), description="crashes at step 3")

    @genart.hookimpl
    def register_post_processors(self, register: Any) -> None:
        def explode_factory(params: Any, context: Any) -> Any:
            raise ValueError("explode needs a fuse")

        def fizzle_factory(params: Any, context: Any) -> Any:
            def apply(images: Any) -> Any:
                raise ZeroDivisionError("division by zero")

            return apply

        register("explode", explode_factory, description="fails when built")
        register("fizzle", fizzle_factory, description="fails when applied")


@pytest.fixture
def crash_app(toy_app: App) -> App:
    toy_app.register(Crashing(), "crashing")
    return toy_app


def test_a_crashing_step_is_one_line_naming_plugin_and_model_and_the_manifest_says_failed(
        genart_cli: Any, crash_app: App, tmp_path: Path) -> None:
    result = run(genart_cli, crash_app, ["run", "--model", "crashy", "--data", "dots", "--out", str(tmp_path), "-q",
                                         "--checkpoint-every", "1"])
    assert result.exit_code == 4
    line = one_line_error(result)
    assert "model 'crashy'" in line and "crashing" in line and "out of bounds" in line
    recorded = manifest(only_run(tmp_path))
    assert recorded["status"] == "failed" and "out of bounds" in recorded["error"]


@pytest.mark.parametrize(("post", "culprit"), [("explode", "needs a fuse"), ("fizzle", "division by zero")])
def test_a_failing_post_processor_is_one_line_naming_it(genart_cli: Any, crash_app: App, tmp_path: Path,
                                                        post: str, culprit: str) -> None:
    from genart.images import save_image
    from genart.testing import make_tiny_images

    image = save_image(make_tiny_images(1)[0], tmp_path / "in.png")
    result = run(genart_cli, crash_app, ["post", str(image), "--post", post, "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 4
    line = one_line_error(result)
    assert f"post-processor {post!r}" in line and culprit in line


def test_debug_shows_the_traceback(genart_cli: Any, crash_app: App, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENART_DEBUG", "1")
    result = run(genart_cli, crash_app, ["run", "--model", "crashy", "--data", "dots", "--out", str(tmp_path), "-q"])
    assert result.exit_code == 4 and "Traceback" in result.output and "out of bounds" in result.output


def test_files_get_the_umask_mode_not_0600(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640


def test_run_outputs_follow_the_umask(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        assert run(genart_cli, toy_app, ["run", "--model", "toy", "--data", "dots", "--out", str(tmp_path),
                                         "-q", "-n", "1"]).exit_code == 0
    finally:
        os.umask(previous)
    for file in only_run(tmp_path).rglob("*"):
        if file.is_file():
            assert stat.S_IMODE(file.stat().st_mode) == 0o644, file


def test_post_keeps_16_bit_grey_depth(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    values = (np.arange(32 * 32).reshape(32, 32) * 61).astype(np.uint16)  # steps finer than 8 bits hold
    Image.fromarray(values).save(tmp_path / "deep.png")
    result = run(genart_cli, toy_app, ["post", str(tmp_path / "deep.png"), "--post", "invert", "--out",
                                       str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "deep.png") as written:
        assert written.mode.startswith("I;16")
        out = np.asarray(written).astype(np.int64)
    assert np.abs(out - (65535 - values.astype(np.int64))).max() <= 1


class FailsToSample:
    """A plugin whose model trains but raises a plain Python error when ``genart sample`` asks for images."""

    class Model(Crashing.Model):
        def train_step(self, batch: Any) -> dict[str, float]:
            return {"loss": 1.0}

        def sample(self, n: int, generator: Any) -> Any:
            raise RuntimeError("shape mismatch in the decoder")

    @genart.hookimpl
    def register_models(self, register: Any) -> None:
        register("nosample", lambda p, c: FailsToSample.Model(p, c), description="cannot sample")


def test_a_failing_sampler_in_genart_sample_is_one_line_naming_plugin_and_model(genart_cli: Any, toy_app: App,
                                                                                tmp_path: Path) -> None:
    toy_app.register(FailsToSample(), "failing-sampler")
    trained = run(genart_cli, toy_app, ["train", "--model", "nosample", "--data", "dots", "--out", str(tmp_path),
                                        "-q", "--sample-every", "0"])
    assert trained.exit_code == 0, trained.output
    result = run(genart_cli, toy_app, ["sample", str(only_run(tmp_path)), "--out", str(tmp_path / "o")])
    assert result.exit_code == 4
    line = one_line_error(result)
    assert "model 'nosample'" in line and "failing-sampler" in line and "shape mismatch" in line
