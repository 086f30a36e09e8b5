"""Your own images at 64 px: the classic DCGAN recipe vs genart's default ``gan``, same wall-clock, scored weight-free.

Both train on the same colour images for the same budget and torch threads; then each draws samples that are
scored with genart's weight-free sample figures (``genart eval``'s: 16x16 pixels + PCA, precision / recall
with k=3, diversity ratio, Frechet distance), against a held-out split, beside the floor the same figures take
for two halves of that split (real vs real).

* data: a folder (default ``../shared/data/art/pokemon``, 1209 colour images in 18 sub-folders; the run stops
  with a message when it is missing) or ``shapes`` (genart's synthetic dataset), at ``--size`` (64) px colour.
  The held-out split is a seeded random ``--holdout`` images, not the folder's last files: sorted by path,
  the last files of a folder with sub-folders are one sub-folder.
* DCGAN (benchmarks/dcgan.py): the PyTorch example's recipe as a plain loop at 64 px colour - transposed-conv
  G (ngf 64, BatchNorm + ReLU), conv D (ndf 64, BatchNorm + LeakyReLU), BCE, Adam 2e-4 beta1 0.5, z of 100,
  N(0, 0.02) init, no augmentation, no EMA, fp32. Sampled with BatchNorm's batch statistics (as the example does).
* genart: ``gan:image_size=64,channels=3`` (plus ``--extra``) trained through genart's own loop at its default
  precision, sampled from the EMA generator.
* with ``--vae``, also genart's default ``vae:image_size=64,channels=3`` through the same loop at its own default
  batch size, sampled as ``genart sample`` does (from the prior it fits when training ends).
* with ``--diffusion``, also genart's default ``diffusion:image_size=64,channels=3`` through the same loop at its
  own default batch size, sampled as ``genart sample`` does (the EMA network, its default sampler and steps).

  python -m benchmarks.own_images_bench --budget 600 --threads 2                  pokemon, DCGAN and genart
  python -m benchmarks.own_images_bench --data shapes --budget 180 --threads 2    the synthetic shapes
  python -m benchmarks.own_images_bench --skip-dcgan --seeds 1+2 --extra r1_gamma=1   genart only, variants
  python -m benchmarks.own_images_bench --score-at 300 ...                        also score genart at 300 s
  python -m benchmarks.own_images_bench --skip-dcgan --skip-genart --vae          genart's VAE only
  python -m benchmarks.own_images_bench --skip-dcgan --diffusion                 genart's GAN and diffusion

Grids go to --out (default /tmp/genart-own-images; a folder inside the repository is refused, since the
images of a user's folder are not ours to commit). Run under the shared lock:
  flock /tmp/genart-heavy.lock python -m benchmarks.own_images_bench
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import REPO, add_data_root, context, data_root, require, sample_genart, save_grid, train_genart
from benchmarks.dcgan import BATCH, sample_dcgan64, train_dcgan64


# -- the classic recipe at 64 px colour, as a plain loop ---------------------------------------------
# -- data and scoring ----------------------------------------------------------------------------------
def load_images(context: Any, data: str, size: int) -> tuple[str, torch.Tensor]:
    """The dataset spec and its images (uint8 [N, 3, size, size]); SystemExit with a message when missing."""
    from genart.api import load_data

    if data in ("shapes", "pokemon"):
        folder = data_root() / "art" / "pokemon"
    else:
        folder = Path(data)
    if data == "shapes":
        spec = "shapes:count=2000"
    else:
        require(folder, "the image folder (give --data DIR, or --data shapes)")
        spec = f"folder:path={folder}"
    return spec, load_data(context, spec, size, 3)


def split(images: torch.Tensor, holdout: int, seed: int = 1234) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, held out): a fixed random ``holdout`` images aside, the same for every model and seed."""
    if not 8 <= holdout <= images.shape[0] - 8:
        raise SystemExit(f"own_images_bench: --holdout {holdout} must leave 8 images on each side of "
                         f"{images.shape[0]}")
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed))
    return images[order[holdout:]], images[order[:holdout]]


def figures(real: torch.Tensor, samples: torch.Tensor) -> dict[str, dict[str, float]]:
    """genart eval's figures: half of ``real`` as many samples as the reference half (equal set sizes)."""
    from genart_explore.sample_metrics import evaluate_samples

    return evaluate_samples(real, samples[: real.shape[0] // 2])


HEADER = (f"{'model':<34}{'prec':>6}{'recall':>7}{'divers':>7}{'FD':>8}  |{'prec':>6}{'recall':>7}{'divers':>7}"
          f"{'FD':>8}{'img/s':>7}{'steps':>7}{'s':>6}")


def row(name: str, held: dict[str, float], train: dict[str, float], run: dict[str, Any] | None) -> str:
    def part(f: dict[str, float]) -> str:
        return f"{f['precision']:>6.3f}{f['recall']:>7.3f}{f['diversity']:>7.3f}{f['fd']:>8.2f}"

    tail = f"{run['images_per_s']:>7.0f}{run['steps']:>7}{run['seconds']:>6.0f}" if run else ""
    return f"{name:<34}{part(held)}  |{part(train)}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="pokemon", help="pokemon (../shared/data/art/pokemon), shapes, or a DIR")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--budget", type=float, default=180, help="training seconds per model")
    parser.add_argument("--seed", type=int, default=0, help="seed of the DCGAN run (and of genart unless --seeds)")
    parser.add_argument("--seeds", default="", help="genart seeds, '+'-joined (default: --seed)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    parser.add_argument("--extra", default="", help="k=v,... appended to genart's gan spec")
    parser.add_argument("--skip-dcgan", action="store_true", help="train genart's model only")
    parser.add_argument("--skip-genart", action="store_true",
                        help="train the DCGAN only (to keep each locked command short; the split is fixed, so "
                             "figures of separate runs compare)")
    parser.add_argument("--vae", action="store_true", help="also train genart's default VAE (same budget)")
    parser.add_argument("--diffusion", action="store_true",
                        help="also train genart's default diffusion model (same budget)")
    parser.add_argument("--holdout", type=int, default=300, help="images held out for scoring (random, fixed)")
    parser.add_argument("--score-at", default="", help="also score genart after these training seconds, "
                                                       "'+'-joined (outside the timed budget)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/genart-own-images"))
    add_data_root(parser)
    args = parser.parse_args()

    out = args.out.resolve()
    if out == REPO or REPO in out.parents:
        raise SystemExit(f"own_images_bench: --out {args.out} is inside the repository; the grids are made from "
                         "your images, write them elsewhere (default /tmp/genart-own-images)")
    if args.threads:
        torch.set_num_threads(args.threads)
    ctx = context()
    from genart.api import precision_label

    spec, images = load_images(ctx, args.data, args.size)
    train, held = split(images, args.holdout)
    out.mkdir(parents=True, exist_ok=True)
    save_grid(held.float() / 255, out / "real_held-out.png")
    gan_spec = f"gan:image_size={args.size},channels=3" + (f",{args.extra}" if args.extra else "")
    print(f"data: {spec} ({images.shape[0]} images at {args.size} px; {train.shape[0]} train, {held.shape[0]} "
          f"held out); budget {args.budget:.0f} s per model; torch threads {torch.get_num_threads()}; "
          f"genart {gan_spec} at {precision_label(ctx)}", flush=True)
    n_samples = train.shape[0] // 2
    floor = figures(held, held)["floor"], figures(train, train)["floor"]
    lines = [row("real vs real (floor)", floor[0], floor[1], None)]

    def add(name: str, samples: torch.Tensor, run: dict[str, Any] | None) -> dict[str, float]:
        held_f, train_f = figures(held, samples)["model"], figures(train, samples)["model"]
        lines.append(row(name, held_f, train_f, run))
        print(lines[-1], flush=True)
        return held_f

    results: dict[str, dict[str, float]] = {}
    if not args.skip_dcgan:
        dc = train_dcgan64(train, args.budget, args.seed)
        samples = sample_dcgan64(dc["g"], n_samples, args.seed)
        save_grid(samples, out / f"dcgan_seed-{args.seed}.png")
        results["dcgan"] = add(f"dcgan seed={args.seed}", samples, dc)
    tag = args.extra.replace(",", "_").replace("=", "-") or "default"
    for seed in [] if args.skip_genart else [int(s) for s in (args.seeds or str(args.seed)).split("+")]:
        marks = sorted(float(s) for s in args.score_at.split("+") if s)

        def score_at(model: Any, steps: int, seconds: float, seed: int = seed, marks: list[float] = marks) -> None:
            while marks and seconds >= marks[0]:
                mark, samples = marks.pop(0), sample_genart(model, n_samples, seed)
                save_grid(samples, out / f"genart_{tag}_seed-{seed}_at-{mark:.0f}s.png")
                add(f"  genart seed={seed} at {mark:.0f} s", samples,
                    {"images_per_s": steps * BATCH / seconds, "steps": steps, "seconds": seconds})

        after: Callable[[Any, int, float], None] = score_at
        run = train_genart(ctx, train, args.budget, seed, spec=gan_spec, after_chunk=after)
        samples = sample_genart(run["model"], n_samples, seed)
        save_grid(samples, out / f"genart_{tag}_seed-{seed}.png")
        results[f"genart seed={seed}"] = add(f"genart seed={seed} {args.extra}".strip(), samples, run)
        print(f"  (losses: {run['losses']}; aug_p {getattr(run['model'], 'aug_p', 0):.3f})", flush=True)

    for kind in [k for k, wanted in (("vae", args.vae), ("diffusion", args.diffusion)) if wanted]:
        # genart's other models through the same loop and budget, each at its own default batch size
        run = train_genart(ctx, train, args.budget, args.seed, spec=f"{kind}:image_size={args.size},channels=3",
                           batch=None)
        samples = sample_genart(run["model"], n_samples, args.seed)
        save_grid(samples, out / f"genart_{kind}_seed-{args.seed}.png")
        results[f"genart {kind}"] = add(f"genart {kind} seed={args.seed}", samples, run)

    print()
    print(f"{'':<34}{'held out (' + str(held.shape[0] // 2) + ' samples)':<29}  |"
          f"{'train (' + str(n_samples) + ' samples)':<29}")
    print(HEADER)
    for line in lines:
        print(line)
    if "dcgan" in results:
        for name, f in results.items():
            if name != "dcgan":
                print(f"{name}: FD / DCGAN's (held out) {f['fd'] / results['dcgan']['fd']:.3f} (target <= 0.5); "
                      f"recall / floor {f['recall'] / max(floor[0]['recall'], 1e-9):.2f} (target >= 0.5); "
                      f"diversity {f['diversity']:.2f} (target >= 0.8)")
    print(f"grids: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
