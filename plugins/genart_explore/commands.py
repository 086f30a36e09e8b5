"""The click commands; each parses options and hands over to a module that does the work.

Only click and genart's light modules are imported here, so ``genart --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from genart.api import device_option, post_option

RUN_DIR = click.Path(exists=True, file_okay=False)


@click.command("eval")
@click.argument("run_dir", type=RUN_DIR)
@click.option("--data", required=True, metavar="SPEC",
              help="held-out images, e.g. mnist:path=DIR,split=test,holdout=1000")
@click.option("--k", default=500, show_default=True, type=click.IntRange(min=1),
              help="importance samples per image for the NLL estimate")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1),
              help="images evaluated at once")
@click.option("--seed", default=0, show_default=True, type=int, help="seed of the sampling noise")
@click.option("--samples", type=click.IntRange(min=0),
              help="samples scored against the held-out images [default: half their number; 0: none]")
@click.option("--model-args", default="", metavar="KEY=VALUE,...",
              help="sampling-time model parameters, e.g. steps=20")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@device_option
@click.pass_obj
def eval_command(app: Any, run_dir: str, data: str, k: int, batch_size: int, seed: int, samples: int | None,
                 model_args: str, quiet: bool, device: str) -> None:
    """Held-out figures of a trained run, recorded in its manifest.json.

    Likelihood models (VAE) report negative ELBO, importance-sampled NLL and bits/dim (metrics.eval).
    Every model that samples (GAN, diffusion, VAE) reports precision and recall (k-NN, k=3), the
    diversity ratio and a Frechet distance in a weight-free feature space (16x16 pixels + PCA of the
    real images), beside the real-vs-real floor of two halves of the held-out images (metrics.sample_eval).
    """
    from .evaluation import evaluate_run

    evaluate_run(app, Path(run_dir), data, k=k, batch_size=batch_size, seed=seed, progress=not quiet,
                 device=device, samples=samples, model_args=model_args)


@click.command("walk")
@click.argument("run_dir", type=RUN_DIR)
@click.option("--points", default=4, show_default=True, type=click.IntRange(min=2),
              help="random latent points the loop passes through")
@click.option("--frames", default=48, show_default=True, type=click.IntRange(min=2),
              help="frames in the whole loop")
@click.option("--size", default=128, show_default=True, type=click.IntRange(min=0),
              help="side of the frames in pixels (0: as decoded and post-processed)")
@post_option
@click.option("--out", type=click.Path(dir_okay=False),
              help="animation file, .gif or .webp [default: RUN_DIR/walk-seedS.gif]; the grid goes "
                   "beside it as NAME-grid.png")
@click.option("--columns", default=8, show_default=True, type=click.IntRange(min=2),
              help="images per row of the grid (one row per leg of the loop)")
@click.option("--duration", default=60, show_default=True, type=click.IntRange(min=10),
              help="milliseconds per frame")
@click.option("--seed", default=0, show_default=True, type=int, help="seed of the latent points")
@click.option("--label", "labels", multiple=True, metavar="NAME",
              help="a run trained on labels: walk within this class; given twice, blend from the first class "
                   "to the second (and back around the loop; left to right in the grid)")
@click.option("--guidance", type=click.FloatRange(min=0), default=None, metavar="G",
              help="classifier-free guidance scale [default: the model's]")
@click.option("--overwrite", is_flag=True, help="replace existing output files")
@device_option
@click.pass_obj
def walk_command(app: Any, run_dir: str, points: int, frames: int, size: int, post: tuple[str, ...],
                 out: str | None, columns: int, duration: int, seed: int, labels: tuple[str, ...],
                 guidance: float | None, overwrite: bool, device: str) -> None:
    """Animate a smooth loop through random points of a model's latent space (VAE, GAN, ...).

    Gaussian latents are interpolated spherically, with frames spread evenly by angle so the
    motion keeps one speed. Writes a looping GIF/WebP and an interpolation grid PNG. With --label,
    a model trained on labels walks within a class, or between two.
    """
    from .walk import walk_run

    target = Path(out) if out else Path(run_dir) / f"walk-seed{seed}.gif"
    walk_run(app, Path(run_dir), target, points=points, frames=frames, size=size, post=post, columns=columns,
             duration=duration, seed=seed, overwrite=overwrite, device=device, labels=labels, guidance=guidance)


@click.command("reconstruct")
@click.argument("run_dir", type=RUN_DIR)
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="folder for the reconstructions")
@post_option
@click.option("--overwrite", is_flag=True, help="replace existing files in --out")
@device_option
@click.pass_obj
def reconstruct_command(app: Any, run_dir: str, images: tuple[str, ...], out: str, post: tuple[str, ...],
                        overwrite: bool, device: str) -> None:
    """Encode images with a trained model and decode them again (models that can encode, e.g. VAE).

    Images are centre-cropped and resized to the model's size; writes one PNG per image and
    reconstruct-grid.png (each original beside its reconstruction).
    """
    from .reconstruct import reconstruct_run

    reconstruct_run(app, Path(run_dir), [Path(p) for p in images], Path(out), post=post, overwrite=overwrite,
                    device=device)


COMMANDS = [eval_command, walk_command, reconstruct_command]
