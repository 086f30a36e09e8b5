"""The README's first picture: what genart makes best today, each panel cut from a docs picture that its
own script makes from data we may publish (a Kodak photo and public-domain paintings, the embedded
``shapes``), so the banner is regenerated whenever they are:

    python scripts/make_readme_banner.py      # writes docs/images/readme-banner.png

Panels: a photo painted with the patch method (docs/images/style-gallery.jpg, scripts/make_style_gallery.py),
a noisy sample and the learned restorer's output (restore-denoise.png), a 4x upsample against the
input's pixels (upsample-x4.png), class-conditional diffusion digits (labels-mnist-classes.png,
scripts/make_label_figures.py), GameBoy pixel art
(pixel-gameboy.png, scripts/make_pixel_figures.py) and a tileable painting repeated (style-tileable.jpg).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


def crop(name: str, box: tuple[float, float, float, float]) -> np.ndarray:
    """``box`` as fractions (left, top, right, bottom) of the picture, so a resized source still fits."""
    with Image.open(IMAGES / name) as image:
        width, height = image.size
        left, top, right, bottom = box
        return np.asarray(image.convert("RGB").crop((round(left * width), round(top * height),
                                                     round(right * width), round(bottom * height))))


def side_by_side(*parts: np.ndarray, gap: int = 4) -> np.ndarray:
    height = min(part.shape[0] for part in parts)
    spacer = np.full((height, gap, 3), 255, np.uint8)
    row: list[np.ndarray] = []
    for part in parts:
        row += [part[:height], spacer]
    return np.concatenate(row[:-1], axis=1)


def panels() -> list[tuple[str, np.ndarray]]:
    cell = 1 / 4  # the restore and upsample pictures are 4 columns x 5 rows of samples
    row = 1 / 5
    return [
        ("a Kodak photo painted with\nStarry Night (patch method)",
         crop("style-gallery.jpg", (0.106, 0.256, 0.545, 0.497))),
        ("noisy sample | learned denoise", side_by_side(crop("restore-denoise.png", (0, 3 * row, cell, 4 * row)),
                                                        crop("restore-denoise.png", (3 * cell, 3 * row, 1, 4 * row)))),
        ("input pixels | learned x4 upsample", side_by_side(crop("upsample-x4.png", (0, 3 * row, cell, 4 * row)),
                                                            crop("upsample-x4.png", (3 * cell, 3 * row, 1, 4 * row)))),
        ("diffusion digits, one row per digit asked for\n(10 min of MNIST on a 2-core CPU)",
         crop("labels-mnist-classes.png", (0.035, 0, 1, 1))),
        ("shapes | pixelize + GameBoy palette", np.concatenate([
            crop("pixel-gameboy.png", (0, 0.024, 0.5, 0.187)), np.full((6, 530, 3), 255, np.uint8),
            crop("pixel-gameboy.png", (0, 0.632, 0.5, 0.795))], axis=0)),
        ("a painting made tileable,\nrepeated 2 x 2", crop("style-tileable.jpg", (0.1, 0.04, 0.545, 1))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=IMAGES / "readme-banner.png")
    args = parser.parse_args()
    chosen = panels()
    figure, axes = plt.subplots(2, 3, figsize=(12, 7.4), dpi=100)
    for axis, (title, picture) in zip(axes.flat, chosen, strict=True):
        axis.imshow(picture, interpolation="nearest")
        axis.set_title(title, fontsize=11)
        axis.axis("off")
    figure.tight_layout()
    temporary = args.out.with_suffix(".tmp.png")
    figure.savefig(temporary)
    temporary.replace(args.out)  # atomic: a reader never sees half a picture
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
