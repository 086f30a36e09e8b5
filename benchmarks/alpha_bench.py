"""Diffusion on transparent sprites (``channels=4``) against the same sprites made opaque (``channels=3``).

Makes ``--count`` sprites of ``--size`` px (one or two discs and squares of random colours on a transparent
background; the opaque copy is composited on white), trains the default diffusion model on each for the
same wall-clock budget, and scores both with ``genart eval`` (weight-free precision, recall, diversity and
FD against held-out sprites of their own kind), plus how transparent the alpha run's sample corners are
and the alpha run's samples as a viewer sees them: laid on white and scored against the opaque held-out
sprites, the opaque run's own yardstick (so the two runs are compared on the same pictures, whatever the
hidden colour under transparent pixels):

    flock /tmp/genart-heavy.lock python -m benchmarks.alpha_bench --minutes 2

Needs no data set: it draws its sprites (seeded), so nothing here comes from ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def make_sprites(rgba: Path, rgb: Path, count: int, size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rgba.mkdir(parents=True)
    rgb.mkdir(parents=True)
    for index in range(count):
        sprite = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        for _ in range(int(rng.integers(1, 3))):
            colour = tuple(int(c) for c in rng.integers(0, 256, 3)) + (255,)
            half = int(rng.integers(size // 6, size // 3))
            cx, cy = (int(c) for c in rng.integers(half, size - half, 2))
            box = (cx - half, cy - half, cx + half, cy + half)
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
        sprite.save(rgba / f"{index:04d}.png")
        white = Image.new("RGBA", sprite.size, (255, 255, 255, 255))
        Image.alpha_composite(white, sprite).convert("RGB").save(rgb / f"{index:04d}.png")


def genart(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "genart.cli", *args], check=True)


def train_and_score(name: str, channels: int, folder: Path, out: Path, minutes: float, holdout: int) -> dict:
    data = f"folder:path={folder},split=train,holdout={holdout}"
    genart("run", "--model", f"diffusion:channels={channels}", "--data", data, "--minutes", str(minutes),
           "--name", name, "--out", str(out), "-n", str(holdout), "--progress", "plain", "--device", "cpu")
    run = sorted(out.glob(f"*-{name}"))[-1]
    genart("eval", str(run), "--data", f"folder:path={folder},split=test,holdout={holdout}",
           "--samples", str(holdout), "-q", "--device", "cpu")
    manifest = json.loads((run / "manifest.json").read_text())
    figures = next(iter(manifest["metrics"]["sample_eval"].values()))
    figures["run"] = str(run)
    figures["steps"] = manifest["train"]["steps_done"]
    return figures


def corner_alpha(run: Path) -> float:
    """Mean alpha of the samples' 4x4 corners (the sprites' corners are always transparent)."""
    values = []
    for path in sorted((run / "samples").glob("*.png")):
        alpha = np.asarray(Image.open(path).convert("RGBA"))[..., 3] / 255
        values += [alpha[:4, :4].mean(), alpha[:4, -4:].mean(), alpha[-4:, :4].mean(), alpha[-4:, -4:].mean()]
    return float(np.mean(values))


def load_folder(files: list[Path], mode: str) -> np.ndarray:
    """PNG files as one uint8 array ``[N, C, H, W]`` in ``mode`` (RGB or RGBA)."""
    return np.stack([np.asarray(Image.open(f).convert(mode)).transpose(2, 0, 1) for f in files])


def on_white(rgba: np.ndarray) -> np.ndarray:
    """uint8 RGBA ``[N, 4, H, W]`` laid on white, as uint8 RGB (what a viewer sees)."""
    colour, alpha = rgba[:, :3].astype(np.float64), rgba[:, 3:].astype(np.float64) / 255
    return np.round(colour * alpha + 255 * (1 - alpha)).astype(np.uint8)


def composited_figures(run: Path, opaque_folder: Path, holdout: int) -> dict:
    """The alpha run's sample PNGs laid on white, scored like ``genart eval`` scores the opaque run: against
    the opaque copies of the held-out sprites (the folder's last ``holdout`` files)."""
    import torch

    from genart_explore.sample_metrics import evaluate_samples

    real = load_folder(sorted(opaque_folder.glob("*.png"))[-holdout:], "RGB")
    samples = on_white(load_folder(sorted((run / "samples").glob("*.png")), "RGBA"))
    figures = evaluate_samples(torch.from_numpy(real), torch.from_numpy(samples))
    return {key: {k: round(v, 4) for k, v in value.items()} for key, value in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=800)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--holdout", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-opaque", action="store_true", help="train the alpha run only")
    parser.add_argument("--keep", type=Path, help="copy the runs (grids, samples, checkpoints) into this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_sprites(work / "rgba", work / "rgb", args.count, args.size, args.seed)
        rows = {} if args.skip_opaque else {
            "opaque (channels=3)": train_and_score("opaque", 3, work / "rgb", work / "runs", args.minutes,
                                                   args.holdout)}
        rows["alpha (channels=4)"] = train_and_score("alpha", 4, work / "rgba", work / "runs", args.minutes,
                                                     args.holdout)
        alpha_run = Path(rows["alpha (channels=4)"]["run"])
        corners = corner_alpha(alpha_run)
        on_white_figures = composited_figures(alpha_run, work / "rgb", args.holdout)
        if args.keep:
            shutil.copytree(work / "runs", args.keep, dirs_exist_ok=True)
    print(f"{args.count} sprites of {args.size} px, {args.minutes:g} min each, seed {args.seed}")
    for label, figures in rows.items():
        print(f"{label}: {figures['steps']} steps; model {json.dumps(figures['model'])}; "
              f"real vs real {json.dumps(figures['floor'])}")
    print(f"alpha run, samples laid on white vs the opaque held-out sprites: model "
          f"{json.dumps(on_white_figures['model'])}; real vs real {json.dumps(on_white_figures['floor'])}")
    print(f"alpha run: mean alpha of sample corners {corners:.3f} (the sprites': 0)")


if __name__ == "__main__":
    main()
