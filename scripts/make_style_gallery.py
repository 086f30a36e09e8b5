"""Render the style gallery in docs/images from the paintings in ../shared/data/style.

Contents are genart's own procedural ``shapes`` images and two Kodak photographs; only stylised
outputs (and genart's own shapes) are written, never the source paintings or photographs. Run under
the shared lock on the 2-core machine (a few minutes):

    flock /tmp/genart-heavy.lock python scripts/make_style_gallery.py
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

DATA = Path(os.environ.get("GENART_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PAINTINGS = ["starry_night", "the_scream", "wave", "composition_vii", "shipwreck", "water-lilies-1919-2"]
KODAK = ["kodim23", "kodim05"]
CELL = 192


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "images")
    parser.add_argument("--size", type=int, default=256, help="long edge of each stylisation")
    parser.add_argument("--spec", default="", help="extra style parameters, e.g. steps=60,style_weight=50")
    args = parser.parse_args()
    style_dir, kodak_dir = DATA / "style", DATA / "Kodak24"
    if not style_dir.is_dir() or not kodak_dir.is_dir():
        print(f"make_style_gallery: {style_dir} or {kodak_dir} missing; set GENART_DATA. Nothing to do.")
        return


    from genart.images import load_image, make_grid
    from genart.plugins import App
    from genart.testing import build_context

    context = build_context(App.from_entry_points())
    shapes = context.build("dataset", "shapes:count=4,seed=3").load(args.size // 2, 3).float() / 255
    contents = {"genart shapes": make_grid(shapes, nrow=2, padding=0)[None]}
    for name in KODAK:
        contents[name] = load_image(kodak_dir / f"{name}.png", channels=3)[None]
    extra = f",{args.spec}" if args.spec else ""

    rows = []
    for label, content in contents.items():
        row = [content] if label == "genart shapes" else [None]
        for painting in PAINTINGS:
            start = time.perf_counter()
            post = context.build("post", f"style:image={style_dir / (painting + '.jpg')},size={args.size},"
                                         f"progress=false{extra}")
            row.append(post(content))
            print(f"{label} x {painting}: {time.perf_counter() - start:.1f} s", flush=True)
        rows.append((label, row))
    save_table(rows, ["content", *PAINTINGS], args.out / "style-gallery.jpg")

    # colour options on one photograph: the optimisation's three colour modes and the two fast transfers
    content = contents["kodim23"]
    starry = style_dir / "starry_night.jpg"
    row = []
    for spec in ("style:preserve_colors=none", "style:preserve_colors=luminance", "style:preserve_colors=match",
                 "colortransfer", "histmatch"):
        base, _, options = spec.partition(":")
        options = f"{options},size={args.size},progress=false{extra}" if base == "style" else ""
        post = context.build("post", f"{base}:image={starry}" + (f",{options}" if options else ""))
        row.append(post(content))
    save_table([("kodim23 + starry_night", [None, *row])],
               ["", "style", "luminance", "match", "colortransfer", "histmatch"], args.out / "style-colours.jpg")


def save_table(rows: list, headers: list[str], path: Path) -> None:
    """Cells of CELL px with text headers; a None cell (a source image we must not publish) stays blank."""
    from PIL import Image, ImageDraw

    from genart.images import tensor_to_pil
    from genart.runs import write_bytes_atomic

    label_w, header_h, gap = 110, 22, 4
    width = label_w + len(headers) * (CELL + gap)
    height = header_h + len(rows) * (CELL + gap)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    for col, header in enumerate(headers):
        draw.text((label_w + col * (CELL + gap) + 4, 5), header.replace("-1919-2", ""), fill="black")
    for r, (label, cells) in enumerate(rows):
        top = header_h + r * (CELL + gap)
        draw.text((4, top + CELL // 2 - 6), label, fill="black")
        for col, cell in enumerate(cells):
            if cell is None:
                draw.text((label_w + col * (CELL + gap) + 20, top + CELL // 2 - 6), "(source not included)",
                          fill="gray")
                continue
            picture = tensor_to_pil(cell[0])
            picture.thumbnail((CELL, CELL), Image.LANCZOS)
            sheet.paste(picture, (label_w + col * (CELL + gap), top))
    buffer = io.BytesIO()
    sheet.save(buffer, format="JPEG", quality=88)
    write_bytes_atomic(path, buffer.getvalue())
    print(f"wrote {path} ({len(buffer.getvalue()) // 1024} KiB)")


if __name__ == "__main__":
    main()
