"""`genart post` over folders as a user runs it: bad files, formats, JSON events, memory, ranks, --out inside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from genart.api import App
from genart.images import load_image, save_image


def images(root: Path, count: int = 3) -> Path:
    for index in range(count):
        save_image(torch.rand(3, 8, 8), root / f"d{index % 2}" / f"img{index}.png")
    return root


def test_a_bad_file_is_reported_at_the_end_and_the_rest_are_written(genart_cli: Any, toy_app: App,
                                                                     tmp_path: Path) -> None:
    root = images(tmp_path / "in")
    (root / "d0" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (root / "Thumbs.db").write_bytes(b"junk")
    result = genart_cli(["post", str(root), "--post", "invert", "--out", str(tmp_path / "o"), "-q"], app=toy_app)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert any(line.startswith("failed: ") and "broken.png" in line for line in lines)
    assert "1 of 4 image(s) failed" in lines[-1] and "wrote 3 image(s)" in result.output and "1 junk" in result.output
    assert len(list((tmp_path / "o").rglob("*.png"))) == 3
    fixed = genart_cli(["post", str(root), "--post", "invert", "--out", str(tmp_path / "o"), "-q"], app=toy_app)
    assert "3 already done" in fixed.output  # the rerun retries only the failed file


def test_format_and_one_json_event_per_image(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    root = images(tmp_path / "in")
    result = genart_cli(["post", str(root), "--post", "invert", "--out", str(tmp_path / "o"), "--format", "jpg",
                         "--progress", "json"], app=toy_app)
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [(e["event"], e["index"], e["total"], e["status"]) for e in events] == [
        ("item", i, 3, "written") for i in range(3)]
    assert sorted(p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o").rglob("*.jpg")) == [
        "d0/img0.jpg", "d0/img2.jpg", "d1/img1.jpg"]
    assert "\r" not in result.output


def test_out_inside_the_input_folder_is_not_read_back(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    root = images(tmp_path / "in")
    for _ in range(2):
        result = genart_cli(["post", str(root), "--post", "invert", "--out", str(root / "inverted"), "-q"], app=toy_app)
        assert result.exit_code == 0, result.output
    assert not (root / "inverted" / "inverted").exists() and len(list((root / "inverted").rglob("*.png"))) == 3


def test_a_chain_that_cannot_fit_is_refused_before_any_work(genart_cli: Any, builtin_app: App, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import genart.loop.memory as memory

    save_image(torch.rand(3, 512, 512), tmp_path / "photo.png")
    monkeypatch.setattr(memory, "available_bytes", lambda device=None: 4 * 2**30)
    result = genart_cli(["post", str(tmp_path / "photo.png"), "--post", "upsample:scale=4", "--post",
                         "upsample:scale=4", "--post", "upsample:scale=4", "--out", str(tmp_path / "o"), "-q",
                         "--device", "cpu"], app=builtin_app)
    assert result.exit_code == 7 and "needs at least 24.8 GiB" in result.output and "4.0 GiB" in result.output
    assert not list(tmp_path.glob("o/**/*.png"))


def test_each_torchrun_rank_takes_its_share(genart_cli: Any, toy_app: App, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = images(tmp_path / "in", count=5)
    written = []
    for rank in (0, 1):
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", str(rank))
        result = genart_cli(["post", str(root), "--post", "invert", "--out", str(tmp_path / "o"), "-q"], app=toy_app)
        assert result.exit_code == 0, result.output
        written.append(int(result.output.split("wrote ")[1].split()[0]))
    assert written == [3, 2] and len(list((tmp_path / "o").rglob("*.png"))) == 5
    monkeypatch.delenv("WORLD_SIZE")
    again = genart_cli(["post", str(root), "--post", "invert", "--out", str(tmp_path / "o"), "-q"], app=toy_app)
    assert "5 already done" in again.output


def test_a_single_file_keeps_its_name_and_format(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    save_image(torch.rand(3, 8, 8), tmp_path / "photo.jpg")
    result = genart_cli(["post", str(tmp_path / "photo.jpg"), "--post", "invert", "--out", str(tmp_path / "o"), "-q"],
                        app=toy_app)
    assert result.exit_code == 0, result.output
    assert load_image(tmp_path / "o" / "photo.jpg").shape == (3, 8, 8)


def test_run_refuses_a_chain_that_cannot_fit_before_it_runs(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    from plugin_modules import make_module

    calls: list[int] = []

    class Grow:
        """Declares an output far larger than any memory."""

        def output_size(self, height: int, width: int) -> tuple[int, int]:
            return height * 100_000, width * 100_000

        def __call__(self, images: Any) -> Any:
            calls.append(1)
            return images

    def register_post_processors(register: Any) -> None:
        register("grow", lambda p, c: Grow(), description="declares a huge output")

    toy_app.register(make_module("genart_grow_test", register_post_processors=register_post_processors), "grow")
    result = genart_cli(["run", "--model", "toy", "--data", "dots", "--post", "grow", "-n", "2", "--steps", "1",
                         "--out", str(tmp_path), "-q"], app=toy_app)
    assert result.exit_code == 7 and "the --post chain needs at least" in result.output and "'grow'" in result.output
    assert calls == []


def test_a_last_step_with_bands_is_written_band_by_band_and_reproduced_byte_for_byte(
        genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    """A post-processor whose whole output cannot be asked for (``__call__`` fails): ``genart post`` takes
    its bands into the PNG, with the recipe, and ``genart reproduce`` writes the same bytes again."""
    from plugin_modules import make_module

    class Doubler:
        def output_size(self, height: int, width: int) -> tuple[int, int]:
            return 2 * height, 2 * width

        def __call__(self, images: Any) -> Any:
            raise AssertionError("the whole output was asked for")

        def bands(self, images: Any) -> Any:
            big = images.repeat_interleave(2, -2).repeat_interleave(2, -1)
            for top in range(0, big.shape[-2], 6):
                yield big[:, :, top:top + 6]

    def register_post_processors(register: Any) -> None:
        register("doubler", lambda p, c: Doubler(), description="nearest x2, in bands only")

    toy_app.register(make_module("genart_bands_test", register_post_processors=register_post_processors), "bands")
    save_image(torch.rand(3, 11, 9), tmp_path / "in" / "a.png")
    result = genart_cli(["post", str(tmp_path / "in"), "--post", "doubler", "--out", str(tmp_path / "out")],
                        app=toy_app)
    assert result.exit_code == 0, result.output
    written = load_image(tmp_path / "out" / "a.png")
    source = load_image(tmp_path / "in" / "a.png")
    assert torch.equal(written, source.repeat_interleave(2, -2).repeat_interleave(2, -1))
    again = genart_cli(["reproduce", str(tmp_path / "out" / "a.png"), "--out", str(tmp_path / "again")], app=toy_app)
    assert again.exit_code == 0, again.output
    assert (tmp_path / "again" / "a.png").read_bytes() == (tmp_path / "out" / "a.png").read_bytes()
