"""Runs a fixed set of tiny seeded genart jobs as a user would (subprocesses) and records what they leave.

The record is what a behaviour-preserving refactor must not change: checkpoint bytes, PNG pixels,
manifest and metrics keys, the recipe's keys, normalised CLI output and exit codes. Wall-clock figures
(speeds, ETAs, run-folder timestamps, temporary paths) are masked, nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

TRAINER_DATA = "patches:path=photos,count=16"
COMMANDS: list[tuple[str, list[str]]] = [
    ("run-vae", ["run", "--model", "vae", "--steps", "3", "--batch-size", "4", "-n", "4", "--name", "vae",
                 "--post", "restore", "--post", "upsample:scale=2"]),
    ("run-gan", ["run", "--model", "gan", "--steps", "3", "--batch-size", "4", "-n", "4", "--name", "gan"]),
    ("run-diffusion", ["run", "--model", "diffusion:steps=4", "--steps", "3", "--batch-size", "4", "-n", "4",
                       "--name", "diffusion"]),
    ("train-sr", ["train", "--model", "sr-trainer:patch=24,width=8,depth=1", "--data", TRAINER_DATA,
                  "--steps", "2", "--batch-size", "4", "--name", "sr"]),
    ("train-restorer", ["train", "--model", "restorer-trainer:patch=24,width=8,depth=1", "--data", TRAINER_DATA,
                        "--steps", "2", "--batch-size", "4", "--name", "restorer"]),
    ("sample-vae", ["sample", "{run:vae}", "-n", "2", "--seed", "1", "--out", "sampled", "--post", "restore"]),
    ("post-chain", ["post", "photos", "--post", "restore:task=denoise", "--post", "upsample:scale=2",
                    "--post", "style:image=photos/p1.png", "--out", "posted", "-q"]),
    ("recipe", ["recipe", "posted/p0.png"]),
    ("reproduce", ["reproduce", "sampled/{first_sample}", "--out", "again"]),
    ("error-unknown-model", ["run", "--model", "nosuch", "--steps", "1"]),
    ("error-missing-input", ["post", "missing.png", "--post", "restore", "--out", "x"]),
    ("error-bad-param", ["run", "--model", "vae:nosuch=1", "--steps", "1"]),
    ("error-missing-run", ["sample", "no-such-run"]),
]
COMMON = ["--device", "cpu"]
TAKES_DEVICE = {"run", "train", "sample", "post"}
TAKES_PROGRESS = {"run", "train"}


def make_photos(folder: Path) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        base = rng.integers(0, 256, (6, 6, 3)).astype(np.uint8)
        image = Image.fromarray(base).resize((48, 48), Image.Resampling.BICUBIC)
        image.save(folder / f"p{i}.png")


def normalise(text: str, work: Path) -> str:
    text = text.replace(str(work), "WORK")
    text = re.sub(r"\d{8}-\d{6}", "TIME", text)
    text = re.sub(r"[\d.]+(e[+-]?\d+)? (img|it|step)s?/s", "N \\2/s", text)
    text = re.sub(r"eta \d+m\d+s", "eta N", text)
    text = re.sub(r"\bin [\d.]+ ?(s|ms|min)\b", "in N \\1", text)
    text = re.sub(r"[\d.]+ s\b", "N s", text)
    return text


def key_tree(value: Any, work: str = "") -> Any:
    """The shape of a JSON value: its keys and their types. Plugin versions are masked, since a newly
    installed plugin is not a change of behaviour."""
    if isinstance(value, dict):
        return {k.replace(work, "WORK"): "masked" if k == "plugins" else key_tree(v, work)
                for k, v in sorted(value.items())}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [key_tree(value[0], work)]
    return type(value).__name__


#: pictures that plot wall-clock figures (speed), so only their size is fixed
TIMED_PICTURES = ("curves.png",)


def pixels_digest(path: Path) -> str:
    with Image.open(path) as image:
        array = np.asarray(image)
    if path.name in TIMED_PICTURES:
        return f"{image.mode}{array.shape}"
    return f"{image.mode}{array.shape}:" + hashlib.sha256(array.tobytes()).hexdigest()[:16]


def record_folder(folder: Path, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(folder).as_posix()
        rel = re.sub(r"\d{8}-\d{6}", "TIME", rel)
        if path.suffix == ".png":
            out[rel] = pixels_digest(path)
            with Image.open(path) as image:
                recipe = image.info.get("genart-recipe") or image.info.get("genart")
            if recipe:
                out[rel + "#recipe"] = key_tree(json.loads(recipe), str(work))
        elif path.suffix == ".safetensors":
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        elif path.name == "manifest.json":
            out[rel] = key_tree(json.loads(path.read_text()), str(work))
        elif path.suffix == ".jsonl":
            keys = sorted({k for line in path.read_text().splitlines() if line for k in json.loads(line)})
            out[rel] = keys
        else:
            out[rel] = "present"
    return out


def run_all(work: Path) -> dict[str, Any]:
    make_photos(work / "photos")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENART_")}
    env.update(OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", COLUMNS="100", GENART_CACHE_DIR=str(work / "cache"),
               PYTHONHASHSEED="0")
    record: dict[str, Any] = {}
    names: dict[str, str] = {}
    for label, args in COMMANDS:
        args = [a.replace("{run:vae}", f"runs/{names.get('vae', '')}") for a in args]
        if "{first_sample}" in " ".join(args):
            first = sorted(p.name for p in (work / "sampled").glob("*.png"))[0]
            args = [a.replace("{first_sample}", first) for a in args]
        extra = (COMMON if args[0] in TAKES_DEVICE else []) + (["--progress", "plain"] if args[0] in TAKES_PROGRESS
                                                               else [])
        done = subprocess.run([sys.executable, "-m", "genart.cli", *args, *extra], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
        record[label] = {"exit": done.returncode, "stdout": normalise(done.stdout, work).splitlines(),
                         "stderr": normalise(done.stderr, work).splitlines()}
        if (work / "runs").exists():
            for run in (work / "runs").iterdir():
                names.setdefault(run.name.split("-", 2)[-1], run.name)
    for folder in ("runs", "sampled", "posted", "again"):
        if (work / folder).exists():
            record[f"files:{folder}"] = record_folder(work / folder, work)
    return record


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = run_all(Path(tmp))
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("golden.json")
    target.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target}")
