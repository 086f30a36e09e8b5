"""Background tones of sample sets kept by ``benchmarks.diffusion_bench --keep-samples``, beside the real ``shapes``.

Why a diversity ratio is low, in terms one can see in a grid: each image's background is the median
colour of its border pixels; the table gives the share of dark (luminance < 0.2) and bright (> 0.8)
backgrounds, the spread of background luminance over images, their mean saturation (max - min channel),
and the mean share of pixels further than 0.15 from the background (shapes, and grain). Run by hand:
    python -m benchmarks.sample_backgrounds /tmp/genart-bench-diffusion diffusion gan
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

LUMA = (0.299, 0.587, 0.114)


def background_figures(images: torch.Tensor) -> dict[str, float]:
    """uint8 or [0, 1] float images ``[N, 3, H, W]`` -> the figures of the module docstring."""
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    border = torch.cat([x[:, :, 0], x[:, :, -1], x[:, :, :, 0], x[:, :, :, -1]], 2)
    background = border.median(2).values
    luma = (background * torch.tensor(LUMA)).sum(1)
    away = (x - background[:, :, None, None]).abs().amax(1) > 0.15
    return {"dark": float((luma < 0.2).float().mean()), "bright": float((luma > 0.8).float().mean()),
            "luma std": float(luma.std()), "saturation": float((background.amax(1) - background.amin(1)).mean()),
            "off-background": float(away.float().mean())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="--out of a diffusion_bench.py shapes run with --keep-samples")
    parser.add_argument("names", nargs="+", help="sample sets: shapes-NAME.safetensors in the folder")
    args = parser.parse_args()
    from safetensors.torch import load_file

    from benchmarks.common import context
    from benchmarks.diffusion_bench import SHAPES_TEST
    from genart.api import load_data

    rows = {"real (held-out half)": background_figures(load_data(context("fp32"), SHAPES_TEST, 32, 3)[1::2])}
    for name in args.names:
        path = args.folder / f"shapes-{name}.safetensors"
        if not path.is_file():
            print(f"sample_backgrounds: no {path}", file=sys.stderr)
            return 2
        rows[name] = background_figures(load_file(str(path))["images"])
    keys = list(rows["real (held-out half)"])
    print(f"{'samples':<40}" + "".join(f"{k:>16}" for k in keys))
    for name, figures in rows.items():
        print(f"{name:<40}" + "".join(f"{figures[k]:>16.3f}" for k in keys))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
