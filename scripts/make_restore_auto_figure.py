"""The default run's samples before ``restore``, after the old default (the classic chain) and after the new
default (``task=auto``), side by side, labelled.

    python -m scripts.make_restore_auto_figure RUN_DIR --out docs/images/restore-auto-default-run.png
    python -m scripts.make_restore_auto_figure docs/images/default-run.png --out ...   # its left half

RUN_DIR is a run of the main job (``genart run --model vae --post restore``); its ``grid-raw.png`` holds the
samples before the chain. Given ``default-run.png`` instead (README's picture: the raw grid on the left,
enlarged 2x), the raw grid is cut from its left half. Prints what ``auto`` chose for each sample.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scripts.make_vae_figures import labelled_row, save

PAD, SIDE, COLUMNS = 2, 32, 4


def raw_grid(source: Path):
    from PIL import Image

    if source.is_dir():
        return Image.open(source / "grid-raw.png").convert("RGB")
    picture = Image.open(source).convert("RGB")
    half = picture.crop((0, 0, (picture.width - 8) // 2, picture.height))
    return half.resize((half.width // 2, half.height // 2), Image.Resampling.NEAREST)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a run folder of the main job, or default-run.png")
    parser.add_argument("--out", type=Path, default=Path("docs/images/restore-auto-default-run.png"))
    args = parser.parse_args()
    import torch

    from genart.api import App
    from genart.images import make_grid
    from genart.testing import build_context

    grid = raw_grid(args.source)
    array = torch.from_numpy(__import__("numpy").asarray(grid, dtype="float32") / 255).permute(2, 0, 1)
    rows = (array.shape[1] - PAD) // (SIDE + PAD)
    samples = torch.stack([array[:, PAD + r * (SIDE + PAD):PAD + r * (SIDE + PAD) + SIDE,
                                 PAD + c * (SIDE + PAD):PAD + c * (SIDE + PAD) + SIDE]
                           for r in range(rows) for c in range(COLUMNS)])
    context = build_context(App.from_entry_points())
    classic = context.build("post", "restore:task=classic")(samples)
    auto = context.build("post", "restore")
    new = auto(samples)
    print("auto chose:", ", ".join(f"{k} {auto.last_choices.count(k)}" for k in sorted(set(auto.last_choices))))
    print("largest change by auto:", float((new - samples).abs().max()))

    def pil(images):
        from PIL import Image

        g = make_grid(images, nrow=COLUMNS)
        return Image.fromarray((g.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype("uint8"))

    panels = [("before restore", pil(samples)), ("old default (classic)", pil(classic)),
              ("new default (auto)", pil(new))]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save(labelled_row(panels), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
