"""Folder jobs: tree mirroring, junk, bad files, resume after kills, ranks."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genart.images import is_image_path
from genart_models.folder_job import JOURNAL, plan, run

DRIVER = Path(__file__).with_name("folder_driver.py")


def png(path: Path, seed: int, size: int = 24) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)
    return path


def tree(root: Path, count: int = 6) -> Path:
    for i in range(count):
        png(root / ("a" if i % 2 else "b") / ("deep" if i % 3 == 0 else "") / f"img{i // 2}.png", i)
    (root / "Thumbs.db").write_bytes(b"junk")
    (root / "a" / ".DS_Store").write_bytes(b"junk")
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "img0.png").write_bytes(b"junk")
    (root / "notes.txt").write_text("not an image")
    return root


def copy_process(source: Path, target: Path) -> None:
    with Image.open(source) as image:
        image.save(target)


def test_tree_is_mirrored_and_junk_counted(tmp_path: Path) -> None:
    job = plan([tree(tmp_path / "in")], None, is_image_path)
    assert job.junk == 3 and job.not_images == 1  # Thumbs.db, .DS_Store, __MACOSX/img0.png; notes.txt
    outcome = run(job, tmp_path / "out", copy_process, post=["copy"])
    made = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    given = sorted(p.relative_to(tmp_path / "in").as_posix() for p in (tmp_path / "in").rglob("img*.png")
                   if "__MACOSX" not in p.parts)
    assert made == given and outcome.written == 6


def test_same_names_in_different_folders_are_both_kept(tmp_path: Path) -> None:
    png(tmp_path / "in" / "a" / "x.png", 1)
    png(tmp_path / "in" / "b" / "x.png", 2)
    png(tmp_path / "in" / "b" / "y.png", 3)
    Image.open(tmp_path / "in" / "b" / "y.png").convert("RGB").save(tmp_path / "in" / "b" / "y.jpg")
    job = plan([tmp_path / "in"], "png", is_image_path)
    assert sorted(output for _, output in job.items) == ["a/x.png", "b/x.png", "b/y.jpg.png", "b/y.png"]
    run(job, tmp_path / "out", copy_process, post=["copy"])
    assert (tmp_path / "out" / "a" / "x.png").read_bytes() != (tmp_path / "out" / "b" / "x.png").read_bytes()


def test_several_folders_each_keep_their_name(tmp_path: Path) -> None:
    png(tmp_path / "p" / "a" / "x.png", 1)
    png(tmp_path / "q" / "a" / "x.png", 2)
    png(tmp_path / "r" / "b" / "x.png", 3)
    job = plan([tmp_path / "p" / "a", tmp_path / "q" / "a", tmp_path / "r" / "b", tmp_path / "r" / "b" / "x.png"],
               None, is_image_path)
    assert [output for _, output in job.items] == ["a/x.png", "a/x-2.png", "b/x.png", "x.png"]


def test_format_choice(tmp_path: Path) -> None:
    png(tmp_path / "in" / "x.png", 1)
    assert [o for _, o in plan([tmp_path / "in"], "webp", is_image_path).items] == ["x.webp"]
    assert [o for _, o in plan([tmp_path / "in"], "jpg", is_image_path).items] == ["x.jpg"]


def test_a_bad_file_is_reported_and_the_rest_done(tmp_path: Path) -> None:
    root = tree(tmp_path / "in")
    (root / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    seen: list[dict[str, object]] = []
    outcome = run(plan([root], None, is_image_path), tmp_path / "out", copy_process, post=["copy"], events=seen.append)
    assert outcome.written == 6 and len(outcome.failed) == 1 and "broken.png" in outcome.failed[0]
    assert [e["status"] for e in seen].count("failed") == 1 and len(seen) == 7
    assert "\n" not in outcome.failed[0]


def test_rerun_skips_finished_items_and_overwrite_redoes_them(tmp_path: Path) -> None:
    root = tree(tmp_path / "in")
    calls: list[Path] = []

    def counting(source: Path, target: Path) -> None:
        calls.append(source)
        copy_process(source, target)

    run(plan([root], None, is_image_path), tmp_path / "out", counting, post=["copy"])
    again = run(plan([root], None, is_image_path), tmp_path / "out", counting, post=["copy"])
    assert len(calls) == 6 and again.skipped == 6
    png(root / "a" / "img0.png", 99)  # a changed source is made again
    assert run(plan([root], None, is_image_path), tmp_path / "out", counting, post=["copy"]).written == 1
    other = run(plan([root], None, is_image_path), tmp_path / "out", counting, post=["other"])
    assert other.written == 6  # another chain: nothing it made before
    redone = run(plan([root], None, is_image_path), tmp_path / "out", counting, post=["copy"], overwrite=True)
    assert redone.written == 6


def test_ranks_share_the_items(tmp_path: Path) -> None:
    root = tree(tmp_path / "in", count=7)
    outcomes = [run(plan([root], None, is_image_path), tmp_path / "out", copy_process, post=["copy"], rank=r, world=3)
                for r in range(3)]
    assert [o.written for o in outcomes] == [3, 2, 2]
    assert len(list((tmp_path / "out").glob(f"{JOURNAL}*.jsonl"))) == 3
    assert run(plan([root], None, is_image_path), tmp_path / "out", copy_process, post=["copy"]).skipped == 7


def driver(source: Path, out: Path, spec: str) -> list[str]:
    return [sys.executable, str(DRIVER), str(source), str(out), spec]


@pytest.mark.slow
def test_killed_five_times_then_rerun_writes_each_output_once_and_identically(
        tmp_path: Path, model_file: Callable[..., Path]) -> None:
    source = tmp_path / "in"
    for i in range(24):
        png(source / f"d{i % 3}" / f"img{i}.png", i, size=32)
    spec = f"model:file={model_file('ESRGAN')}"
    clean = subprocess.run(driver(source, tmp_path / "clean", spec), capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, clean.stderr[-2000:]
    rng = random.Random(0)
    out = tmp_path / "killed"
    for _ in range(5):
        stop_after = rng.randint(1, 4)
        process = subprocess.Popen(driver(source, out, spec), stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        items = 0
        for line in process.stdout:
            if json.loads(line).get("status") == "written":
                items += 1
            if items >= stop_after:
                break
        import time

        time.sleep(rng.uniform(0, 0.05))  # somewhere inside the next item
        process.kill()
        process.wait()
    final = subprocess.run(driver(source, out, spec), capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-2000:]
    end = json.loads(final.stdout.strip().splitlines()[-1])
    assert end["written"] + end["adopted"] < 24  # the killed runs' work was kept
    lines = [json.loads(line) for journal in out.glob(f"{JOURNAL}*.jsonl")
             for line in journal.read_text().splitlines() if line.strip()]
    outputs = [entry["output"] for entry in lines]
    assert sorted(outputs) == sorted(set(outputs)) and len(outputs) == 24  # each output journalled exactly once
    for made in (tmp_path / "clean").rglob("*.png"):
        assert (out / made.relative_to(tmp_path / "clean")).read_bytes() == made.read_bytes()
    assert not [p for p in out.rglob("*") if p.is_file() and ".tmp" in p.name]
