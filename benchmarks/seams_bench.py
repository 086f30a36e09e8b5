"""Seams of samples: tileable=true against the default, for the GAN, the VAE and the diffusion model.

Run by hand, under the shared lock on the 2-core machine:
    flock /tmp/genart-heavy.lock python -m benchmarks.seams_bench      # 60 s of training per model
Each model trains on the embedded ``shapes`` dataset at 32 px for ``--seconds`` of wall clock (seed 0,
CPU, fp32), once with ``tileable=true`` and once without, then draws 64 samples (seed 0) and reports
the seam ratio of genart_pixel.seams: the mean absolute difference across the wrapped edge over the
mean difference between neighbouring interior columns and rows (target for tileable: <= 1.1). The
training images' own ratio is printed for reference. Run folders go to a temporary folder (or ``--keep``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

MODELS = ("gan", "vae", "diffusion")


def train(app: object, model: str, out: Path, seconds: float, size: int) -> Path:
    from genart.api import RunSettings, train_job

    settings = RunSettings(model=model,
                           data="shapes", minutes=seconds / 60, num_samples=1, seed=0, device="cpu",
                           precision="fp32", out=str(out), progress=False, progress_mode="none")
    return train_job(app, settings, sample_after=False)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("-n", type=int, default=64)
    parser.add_argument("--keep", type=Path, help="keep the run folders here, with each model's first 16 "
                                                  "samples repeated 3x3 in a grid")
    args = parser.parse_args()

    from genart.api import App, load_data, load_run_model, make_context, sample
    from genart.images import make_grid, save_image
    from genart_pixel.seams import seams

    app = App.from_entry_points(only=None)
    real = load_data(make_context(app, "cpu", "fp32"), "shapes", args.size, 3)[:1024].float() / 255
    print(f"shapes at {args.size} px, training images: seam ratio {seams(real).ratio:.3f}")
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep / "runs" if args.keep else Path(temporary)  # --keep keeps the runs too
        for model in args.models:
            for tileable in (False, True):
                spec = f"{model}:image_size={args.size}" + (",tileable=true" if tileable else "")
                started = time.perf_counter()
                run = train(app, spec, Path(folder) / f"{model}-{tileable}", args.seconds, args.size)
                trained = time.perf_counter() - started
                net, _, manifest = load_run_model(app, run, "cpu", "fp32")
                images = sample(net, args.n, seed=0)
                figures = seams(images)
                steps = manifest["train"].get("steps_done")
                print(f"{spec:38s} {steps} steps in {trained:.0f} s: seam ratio {figures.ratio:.3f} "
                      f"(edge {figures.edge:.4f}, interior {figures.interior:.4f}) over {args.n} samples"
                      + ("; target <= 1.1 " + ("met" if figures.ratio <= 1.1 else "NOT met") if tileable else ""))
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    grid = make_grid(images[:16].repeat(1, 1, 3, 3), nrow=4, padding=4)
                    save_image(grid, args.keep / f"{model}-tileable-{str(tileable).lower()}.png", overwrite=True)


if __name__ == "__main__":
    main()
