"""Render docs/images/style-gallery.jpg: genart's two methods on a Kodak photo with four paintings.

Published sheet (default): kodim19 (Kodak24, lighthouse, houses and a large sky; freely usable) stylised
with wave, starry_night, composition_vii and the_scream. Columns: genart ``method=patch`` and genart
``method=gram`` at 510 px long edge. Only genart's outputs are drawn: no painting, no photo, no anchor.

``--anchor OUT.jpg`` writes, for local judging only, the full side-by-side on chicago.jpg: painting |
Johnson et al.'s fast-neural-style anchor (../shared/data/style-anchor, ImageNet VGG-16 loss) | genart
patch | genart gram, at the anchor's size. That sheet must NOT be committed: the anchors are "free for
personal or research use" only and chicago.jpg has no stated licence (shared/data/SOURCES.md).

Run under the shared lock on the 2-core machine (a few minutes):

    flock /tmp/genart-heavy.lock python scripts/make_style_gallery.py
    flock /tmp/genart-heavy.lock python scripts/make_style_gallery.py --anchor /tmp/style-anchor.jpg
    flock /tmp/genart-heavy.lock python scripts/make_style_gallery.py --colours   # also style-colours.jpg

``--colours`` also re-renders docs/images/style-colours.jpg (kodim23 with The Starry Night: the colour
options of method=gram and the two learning-free transfers). docs/images/style-tileable.jpg shows two
``tileable=true`` textures (made with kodim19 as content) repeated 2 x 2.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

DATA = Path(os.environ.get("GENART_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PAIRS = [("wave", "chicago_wave"), ("starry_night", "chicago_starry_night"),
         ("composition_vii", "chicago_composition_vii"), ("the_scream", "chicago_scream")]
SIZE = 510  # the eccv16 anchors are 510x338
CONTENT = "kodim19.png"  # Kodak24: sky above a lighthouse and houses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "images")
    parser.add_argument("--patch", default="", help="extra parameters for method=patch, e.g. strength=0.5")
    parser.add_argument("--gram", default="", help="extra parameters for method=gram, e.g. steps=60")
    parser.add_argument("--colours", action="store_true", help="also render style-colours.jpg")
    parser.add_argument("--anchor", type=Path, metavar="OUT.jpg",
                        help="instead write painting | VGG anchor | patch | gram on chicago.jpg to OUT.jpg, for "
                             "local judging only: do not commit it (the anchors and chicago.jpg may not be "
                             "published in this repo)")
    args = parser.parse_args()
    style_dir, anchor_dir = DATA / "style", DATA / "style-anchor"
    if not style_dir.is_dir() or (args.anchor and not anchor_dir.is_dir()):
        print(f"make_style_gallery: {style_dir} or {anchor_dir} missing; set GENART_DATA. Nothing to do.")
        return

    from genart.api import App
    from genart.images import load_image
    from genart.testing import build_context

    context = build_context(App.from_entry_points())
    if args.anchor:
        anchor_sheet(context, args, style_dir, anchor_dir)
        return
    content = load_image(DATA / "Kodak24" / CONTENT, channels=3)[None]
    rows = [(painting, stylise(context, args, style_dir, painting, content, CONTENT)) for painting, _ in PAIRS]
    save_table(rows, ["genart patch", "genart gram"], args.out / "style-gallery.jpg", cell=(SIZE, SIZE), first=SIZE)
    tiles(context, content, style_dir, args.out)
    if args.colours:
        colours(context, args.out)


def stylise(context, args, style_dir: Path, painting: str, content, name: str) -> list:
    """genart's patch and gram results for one painting, with the time of each printed."""
    row = []
    for method, extra in (("patch", args.patch), ("gram", args.gram)):
        start = time.perf_counter()
        spec = f"style:image={style_dir / (painting + '.jpg')},method={method},size={SIZE},progress=false"
        post = context.build("post", spec + (f",{extra}" if extra else ""))
        row.append(post(content))
        print(f"{name} x {painting}, {method}: {time.perf_counter() - start:.1f} s", flush=True)
    return row


def anchor_sheet(context, args, style_dir: Path, anchor_dir: Path) -> None:
    """The local-only comparison on chicago.jpg beside Johnson et al.'s anchors (never to be committed)."""
    from genart.images import load_image
    from genart_style.gram_transfer import resize

    content = load_image(style_dir / "chicago.jpg", channels=3)[None]
    rows = []
    for painting, anchor_name in PAIRS:
        anchor = load_image(anchor_dir / f"{anchor_name}.jpg", channels=3)[None]
        h, w = anchor.shape[-2:]
        anchor = resize(anchor, (round(h * SIZE / w), SIZE)) if w != SIZE else anchor
        row = [load_image(style_dir / f"{painting}.jpg", channels=3)[None], anchor]
        rows.append((painting, row + stylise(context, args, style_dir, painting, content, "chicago.jpg")))
    save_table(rows, ["painting", "VGG anchor (Johnson et al.)", "genart patch", "genart gram"],
               args.anchor, cell=(SIZE, 340), first=230)


def tiles(context, content, style_dir: Path, out: Path) -> None:
    """A 256 px tileable texture (strength=0, tileable=true) from The Starry Night and The Wave, each shown
    repeated 2 x 2 so a seam would show as a cross through the middle."""
    import torch

    cells = []
    for painting in ("starry_night", "wave"):
        post = context.build("post", f"style:image={style_dir / (painting + '.jpg')},method=patch,size=256,"
                                     "strength=0,tileable=true,progress=false")
        tile = post(content)
        cells.append(torch.cat([torch.cat([tile, tile], 3)] * 2, 2))
    save_table([("2 x 2 repeats", cells)], ["starry_night, tileable", "wave, tileable"],
               out / "style-tileable.jpg", cell=(512, 512), first=512)


def colours(context, out: Path) -> None:
    """kodim23 with The Starry Night: method=gram's colour options and the two learning-free transfers."""
    from genart.images import load_image

    content = load_image(DATA / "Kodak24" / "kodim23.png", channels=3)[None]
    starry = DATA / "style" / "starry_night.jpg"
    row = []
    for spec in ("style:preserve_colors=none", "style:preserve_colors=luminance", "style:preserve_colors=match",
                 "colortransfer", "histmatch"):
        base, _, options = spec.partition(":")
        options = f"{options},method=gram,size=256,progress=false" if base == "style" else ""
        post = context.build("post", f"{base}:image={starry}" + (f",{options}" if options else ""))
        row.append(post(content))
    save_table([("kodim23 + starry_night", [None, *row])],
               ["", "style", "luminance", "match", "colortransfer", "histmatch"], out / "style-colours.jpg",
               cell=(192, 192), first=192)


def save_table(rows: list, headers: list[str], path: Path, cell: tuple[int, int], first: int) -> None:
    """A sheet of cells (``cell`` = width, height; the first column ``first`` wide) under text headers;
    a None cell (a source image we must not publish) stays blank."""
    from PIL import Image, ImageDraw

    from genart.api import write_bytes_atomic
    from genart.images import tensor_to_pil

    label_w, header_h, gap = 110, 22, 4
    widths = [first] + [cell[0]] * (len(headers) - 1)
    lefts = [label_w + sum(widths[:i]) + gap * i for i in range(len(widths))]
    sheet = Image.new("RGB", (lefts[-1] + widths[-1], header_h + len(rows) * (cell[1] + gap)), "white")
    draw = ImageDraw.Draw(sheet)
    for col, header in enumerate(headers):
        draw.text((lefts[col] + 4, 5), header, fill="black")
    for r, (label, cells) in enumerate(rows):
        top = header_h + r * (cell[1] + gap)
        draw.text((4, top + cell[1] // 2 - 6), label, fill="black")
        for col, image in enumerate(cells):
            if image is None:
                draw.text((lefts[col] + 20, top + cell[1] // 2 - 6), "(source not included)", fill="gray")
                continue
            picture = tensor_to_pil(image[0])
            picture.thumbnail((widths[col], cell[1]), Image.LANCZOS)
            sheet.paste(picture, (lefts[col], top))
    buffer = io.BytesIO()
    sheet.save(buffer, format="JPEG", quality=88)
    write_bytes_atomic(path, buffer.getvalue())
    print(f"wrote {path} ({len(buffer.getvalue()) // 1024} KiB)")


if __name__ == "__main__":
    main()
