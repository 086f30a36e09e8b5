"""Regenerate the default run's pictures in docs/images from a run of the main job.

    genart run --model vae --post restore --out /tmp/vae-default
    python scripts/make_vae_figures.py /tmp/vae-default/<run> --out docs/images \
        [--before /tmp/vae-old/<run> --before-label "before: loss=logistic"]

Writes, from 16 samples at the run's seed:

* ``default-run.png``: the samples before (left) and after (right) the ``restore`` post-processor;
* ``vae-default-grid.png``: the restored samples alone;
* ``vae-shapes-real-vs-samples.png``: 16 real ``shapes`` images, the run's reconstructions of those
  same images (what its decoder can draw at best), then restored samples of another run
  (``--before``, e.g. the previous default) or, without it, of the same weights from N(0, I)
  (``prior=normal``), then the run's own restored samples, with a label over each panel.

``shapes`` is genart's own procedural data, so its images may be published. Pictures are enlarged
2x with nearest-neighbour so the 32 px pixels stay visible.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

COUNT = 16
ZOOM = 2
LABEL_HEIGHT = 16
GAP = 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a run folder of the main job (vae on shapes)")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--before", type=Path, help="a run whose samples the middle panel shows (default: "
                                                    "the same run sampled from N(0, I))")
    parser.add_argument("--before-label", default="before", help="label of that panel")
    args = parser.parse_args()

    from genart.api import App, apply_chain, build_chain, load_data, load_run_model, read_json, sample
    from genart.images import make_grid

    app = App.from_entry_points()
    manifest = read_json(args.run / "manifest.json")
    seed = int(manifest.get("seed", 0))
    fitted, context, _ = load_run_model(app, args.run, "cpu")
    if args.before is not None:
        other, _, _ = load_run_model(app, args.before, "cpu")
        other_label = args.before_label
    else:
        other, _, _ = load_run_model(app, args.run, "cpu", model_args="prior=normal")
        other_label = "samples, N(0, I) prior"
    chain = build_chain(context, ["restore"])
    channels, size, _ = fitted.image_shape
    real = load_data(context, "shapes", size, channels)[:COUNT].float() / 255
    raw = sample(fitted, COUNT, seed)
    restored = apply_chain(chain, raw, context.device).clamp(0, 1)
    before = apply_chain(chain, sample(other, COUNT, seed), context.device).clamp(0, 1)
    recon = fitted.decode(fitted.encode(real)).cpu()

    args.out.mkdir(parents=True, exist_ok=True)
    grids = {name: to_pil(make_grid(images, nrow=4)) for name, images in
             [("real", real), ("raw", raw), ("restored", restored), ("before", before), ("recon", recon)]}
    save(grids["restored"], args.out / "vae-default-grid.png")
    save(row([grids["raw"], grids["restored"]], gap=8, zoom=ZOOM), args.out / "default-run.png")
    panels = [("real shapes images", grids["real"]), ("their reconstructions", grids["recon"]),
              (other_label, grids["before"]), ("samples (this run)", grids["restored"])]
    save(labelled_row(panels), args.out / "vae-shapes-real-vs-samples.png")
    print(f"wrote default-run.png, vae-default-grid.png, vae-shapes-real-vs-samples.png in {args.out} "
          f"(run {args.run}, seed {seed})")


def to_pil(grid: Any) -> Any:
    from PIL import Image

    array = (grid.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype("uint8")
    return Image.fromarray(array)


def row(images: list[Any], gap: int, zoom: int) -> Any:
    from PIL import Image

    images = [image.resize((image.width * zoom, image.height * zoom), Image.Resampling.NEAREST) for image in images]
    out = Image.new("RGB", (sum(i.width for i in images) + gap * (len(images) - 1), images[0].height), "white")
    x = 0
    for image in images:
        out.paste(image, (x, 0))
        x += image.width + gap
    return out


def labelled_row(panels: list[tuple[str, Any]]) -> Any:
    from PIL import Image, ImageDraw

    body = row([image for _, image in panels], gap=GAP, zoom=ZOOM)
    out = Image.new("RGB", (body.width, body.height + LABEL_HEIGHT), "white")
    out.paste(body, (0, LABEL_HEIGHT))
    draw = ImageDraw.Draw(out)
    width = panels[0][1].width * ZOOM
    for index, (label, _) in enumerate(panels):
        draw.text((index * (width + GAP) + 4, 2), label, fill=(0, 0, 0))
    return out


def save(image: Any, path: Path) -> None:
    """Atomically, so an interrupted run never leaves half a picture in docs/."""
    from genart.api import atomic_path

    with atomic_path(path) as temporary:
        image.save(temporary, format="PNG")


if __name__ == "__main__":
    main()
