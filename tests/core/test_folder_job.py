"""The folder-job engine: tree mirroring, junk, bad files, resume, ranks (genart post end to end: test_post_folder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from genart.images import is_image_path
from genart.runner.folder import JOURNAL, plan, run

COPY = json.dumps(["copy"])


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
    outcome = run(job, tmp_path / "out", copy_process, chain_key=COPY)
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
    run(job, tmp_path / "out", copy_process, chain_key=COPY)
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
    outcome = run(plan([root], None, is_image_path), tmp_path / "out", copy_process, chain_key=COPY, events=seen.append)
    assert outcome.written == 6 and len(outcome.failed) == 1 and outcome.failed[0][0].name == "broken.png"
    assert [e["status"] for e in seen].count("failed") == 1 and len(seen) == 7


def test_rerun_skips_finished_items_and_overwrite_redoes_them(tmp_path: Path) -> None:
    root = tree(tmp_path / "in")
    calls: list[Path] = []

    def counting(source: Path, target: Path) -> None:
        calls.append(source)
        copy_process(source, target)

    run(plan([root], None, is_image_path), tmp_path / "out", counting, chain_key=COPY)
    again = run(plan([root], None, is_image_path), tmp_path / "out", counting, chain_key=COPY)
    assert len(calls) == 6 and again.skipped == 6
    png(root / "a" / "img0.png", 99)  # a changed source is made again
    assert run(plan([root], None, is_image_path), tmp_path / "out", counting, chain_key=COPY).written == 1
    other = run(plan([root], None, is_image_path), tmp_path / "out", counting, chain_key=json.dumps(["other"]))
    assert other.written == 6  # another chain: nothing it made before
    redone = run(plan([root], None, is_image_path), tmp_path / "out", counting, chain_key=COPY, overwrite=True)
    assert redone.written == 6


def test_ranks_share_the_items(tmp_path: Path) -> None:
    root = tree(tmp_path / "in", count=7)
    outcomes = [run(plan([root], None, is_image_path), tmp_path / "out", copy_process, chain_key=COPY, share=(r, 3))
                for r in range(3)]
    assert [o.written for o in outcomes] == [3, 2, 2]
    assert len(list((tmp_path / "out").glob(f"{JOURNAL}*.jsonl"))) == 3
    assert run(plan([root], None, is_image_path), tmp_path / "out", copy_process, chain_key=COPY).skipped == 7


def test_rerun_deletes_temporaries_a_kill_left_beside_its_own_outputs_only(tmp_path: Path) -> None:
    png(tmp_path / "in" / "a.png", 1)
    png(tmp_path / "in" / "b.png", 2)
    job = plan([tmp_path / "in"], None, is_image_path)
    out = tmp_path / "out"
    out.mkdir()
    left = out / ".a.png.6ifbvbj5.tmp"  # what kill -9 mid-write leaves (atomic_path's naming)
    others = out / ".b.png.k3j2h1ab.tmp"  # rank 1's output, possibly being written right now
    users = out / ".a.png.notes.tmp"  # not atomic_path's pattern: a user's file
    for path in (left, others, users):
        path.write_bytes(b"half")
    run(job, out, copy_process, chain_key=COPY, share=(0, 2))
    assert not left.exists() and others.exists() and users.exists()
