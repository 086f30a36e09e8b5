"""What a new user hits in the first hour (issue 38): each test failed on the code before the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from genart.api import App


def only_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def error_line(result: Any) -> str:
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert "Traceback" not in result.output, result.output
    return lines[-1]


@pytest.mark.parametrize(("setting", "word"), [("seed = 1.5", "whole number"), ("steps = true", "whole number"),
                                               ("batch_size = 2.0", "whole number"), ("quiet = 1", "true or false")])
def test_toml_values_of_the_wrong_type_are_refused(genart_cli: Any, toy_app: App, tmp_path: Path, setting: str,
                                                   word: str) -> None:
    """Before: seed = 1.5 ran with seed 1 and steps = true trained one step, without a word."""
    config = tmp_path / "c.toml"
    config.write_text(f'model = "toy"\ndata = "dots"\n{setting}\n')
    result = genart_cli(["train", "-c", str(config), "--out", str(tmp_path / "runs")], app=toy_app)
    assert result.exit_code == 2
    assert word in error_line(result) and setting.split()[0] in error_line(result)
    assert not (tmp_path / "runs").exists()


def test_unicode_run_names_are_kept(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    """Before: --name 'ñame 画' made a folder ending in '-ame'."""
    result = genart_cli(["train", "--model", "toy", "--data", "dots", "--name", "ñame 画", "--steps", "1",
                         "--out", str(tmp_path), "-q"], app=toy_app)
    assert result.exit_code == 0, result.output
    assert only_run(tmp_path).name.endswith("-ñame-画")


@pytest.mark.parametrize("command", [["train", "--model", "toy", "--data", "dots"], ["sample", "RUN"]])
def test_a_huge_seed_is_a_one_line_usage_error(genart_cli: Any, toy_app: App, tmp_path: Path,
                                               command: list[str]) -> None:
    """Before: --seed 99999999999999999999 reported 'an unexpected ValueError, a bug'."""
    (tmp_path / "RUN").mkdir()
    args = [str(tmp_path / "RUN") if a == "RUN" else a for a in command]
    result = genart_cli([*args, "--seed", "99999999999999999999", "--out", str(tmp_path / "o")], app=toy_app)
    assert result.exit_code == 2 and "--seed" in result.output and "unexpected" not in result.output


def test_steps_zero_says_nothing_is_trained(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    result = genart_cli(["run", "--model", "toy", "--data", "dots", "--steps", "0", "-n", "2", "--out",
                         str(tmp_path), "-q"], app=toy_app)
    assert result.exit_code == 0, result.output
    assert "--steps 0 trains nothing" in result.output


def test_a_batch_larger_than_the_data_is_clamped_with_a_note(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    """Before: --batch-size 100000 on a 44-image folder was killed by the system (exit 137)."""
    result = genart_cli(["train", "--model", "toy", "--data", "dots:count=7", "--batch-size", "100000", "--steps",
                         "2", "--out", str(tmp_path), "-q"], app=toy_app)
    assert result.exit_code == 0, result.output
    assert "batch size 100000 is more than the 7 training images; using 7" in result.output
    manifest = json.loads((only_run(tmp_path) / "manifest.json").read_text())
    assert manifest["train"]["batch_size"] == 7


def test_an_empty_plugin_list_names_the_variable(genart_cli: Any, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """Before: 'unknown model 'vae'; available: none', and nothing said why."""
    monkeypatch.setenv("GENART_LOAD_PLUGINS", "")
    result = genart_cli(["train", "--model", "vae", "--out", str(tmp_path)], app=App.from_entry_points())
    assert result.exit_code == 2
    assert "GENART_LOAD_PLUGINS=''" in error_line(result) and "vae" in error_line(result)


def test_plain_progress_has_no_carriage_returns_from_plugins(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    """Before: a post-processor's bar (style's, the folder decoder's) wrote carriage returns into a plain log."""
    from plugin_modules import make_module

    from genart.api import progress

    def slow_identity(images: Any) -> Any:
        for _ in progress(range(3), desc="busy"):
            pass
        return images

    def register_post_processors(register: Any) -> None:
        register("busy", lambda p, c: slow_identity, description="shows a progress bar")

    toy_app.register(make_module("genart_busy_test", register_post_processors=register_post_processors), "busy")
    args = ["run", "--model", "toy", "--data", "dots", "--post", "busy", "-n", "2", "--steps", "2", "--out",
            str(tmp_path / "{}")]
    bar = genart_cli([a.format("bar") for a in args] + ["--progress", "bar"], app=toy_app)
    plain = genart_cli([a.format("plain") for a in args] + ["--progress", "plain"], app=toy_app)
    assert bar.exit_code == 0 and plain.exit_code == 0, plain.output
    assert "busy" in bar.output  # the bar is there when bars are wanted
    assert "\r" not in plain.output


def test_post_help_lists_the_post_processors(genart_cli: Any, toy_app: App) -> None:
    for command in ("post", "run", "sample"):
        result = genart_cli([command, "--help"], app=toy_app)
        assert result.exit_code == 0
        assert "Post-processors for --post" in result.output and "invert" in result.output


def test_post_keeps_files_that_share_a_name_apart(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    """Before: two files with one name in different folders, or differing only by extension, refused the
    whole job. Now the output mirrors the tree, and a format that would merge two names keeps the source's
    extension in the output's."""
    from PIL import Image

    for folder, name, shade in (("a", "x.png", 10), ("b", "x.png", 200), ("b", "y.png", 60), ("b", "y.jpg", 120)):
        (tmp_path / "in" / folder).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (shade, shade, shade)).save(tmp_path / "in" / folder / name)
    out = tmp_path / "o"
    result = genart_cli(["post", str(tmp_path / "in"), "--post", "invert", "--format", "png", "--out", str(out)],
                        app=toy_app)
    assert result.exit_code == 0, result.output
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))
    assert written == [str(Path("a") / "x.png"), str(Path("b") / "x.png"), str(Path("b") / "y.jpg.png"),
                       str(Path("b") / "y.png")]
    shades = {name: Image.open(out / name).getpixel((0, 0))[0] for name in written}
    assert shades[str(Path("a") / "x.png")] == 245 and shades[str(Path("b") / "x.png")] == 55
    assert abs(shades[str(Path("b") / "y.jpg.png")] - 135) <= 2 and shades[str(Path("b") / "y.png")] == 195


def test_ctrl_c_in_sample_exits_130_and_leaves_nothing_that_blocks_a_rerun(genart_cli: Any, toy_app: App,
                                                                           tmp_path: Path) -> None:
    """Before: exit 1 with click's "Aborted!", and an empty samples folder refused the rerun ("not empty")."""
    from plugin_modules import make_module

    def interrupt(images: Any) -> Any:
        raise KeyboardInterrupt

    def register_post_processors(register: Any) -> None:
        register("ctrl-c", lambda p, c: interrupt, description="as if the user pressed Ctrl-C")

    toy_app.register(make_module("genart_ctrl_c_test", register_post_processors=register_post_processors), "ctrl-c")
    assert genart_cli(["train", "--model", "toy", "--data", "dots", "--steps", "2", "--out", str(tmp_path / "runs"),
                       "-q"], app=toy_app).exit_code == 0
    run = only_run(tmp_path / "runs")
    stopped = genart_cli(["sample", str(run), "--post", "ctrl-c"], app=toy_app)
    assert stopped.exit_code == 130, stopped.output
    assert "interrupted" in error_line(stopped) and not (run / "sample-seed0").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("a file of the user's")
    stopped = genart_cli(["sample", str(run), "--post", "ctrl-c", "--out", str(mine), "--overwrite"], app=toy_app)
    assert stopped.exit_code == 130 and [p.name for p in mine.iterdir()] == ["keep.txt"]
    again = genart_cli(["sample", str(run)], app=toy_app)
    assert again.exit_code == 0, again.output


def test_the_last_snapshot_is_what_grid_png_shows_for_the_vae(genart_cli: Any, tmp_path: Path) -> None:
    """docs/runs.md: the last snapshot and grid.png use the same latents. Before, the VAE's last snapshot was
    taken before it fitted its prior after the loop, so the two showed different images."""
    import torch

    from genart.images import load_image

    app = App.from_entry_points(only=["data", "vae"])
    result = genart_cli(["run", "--model", "vae:width=4,latent=2", "--data", "shapes:count=48", "--steps", "4",
                         "--batch-size", "8", "--sample-every", "2", "-n", "16", "--out", str(tmp_path), "-q"], app=app)
    assert result.exit_code == 0, result.output
    run = only_run(tmp_path)
    last = sorted((run / "snapshots").iterdir())[-1]
    assert last.name == "step-000004.png"
    assert torch.equal(load_image(last), load_image(run / "grid.png"))


def test_sample_n_beyond_the_disk_is_refused_after_the_first_batch_and_leaves_nothing(
        genart_cli: Any, toy_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The up-front check can count only a minimal PNG per sample; before, -n 10**8 passed it and filled the
    disk. Now the first batch's real size decides, and the partial folder is removed so the rerun is not
    refused as "not empty"."""
    from genart.loop import memory

    assert genart_cli(["train", "--model", "toy", "--data", "dots", "--steps", "2", "--out", str(tmp_path / "runs"),
                       "-q"], app=toy_app).exit_code == 0
    run = only_run(tmp_path / "runs")
    count = 1000
    monkeypatch.setattr(memory, "free_disk_bytes", lambda folder: count * memory.MIN_PNG_BYTES * 2)
    refused = genart_cli(["sample", str(run), "-n", str(count)], app=toy_app)
    assert refused.exit_code == 6, refused.output
    line = error_line(refused)
    assert f"-n {count} samples need about" in line and "the first 64 took" in line and "lower -n" in line
    assert not (run / "sample-seed0").exists()
    monkeypatch.undo()
    assert genart_cli(["sample", str(run), "-n", "70"], app=toy_app).exit_code == 0
