"""Make the comparison pictures in docs/images/ (restore-*.png, upsample-*.png) from procedural images.

    python scripts/restore_docs_images.py [--out docs/images]

Uses the embedded ``shapes`` dataset (seed 0) plus a procedural texture, never files from shared/data, so
the pictures can live in the repository. Each picture is: degraded | classical | learned | original.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F


def build(kind: str, spec: str):
    from genart.api import App
    from genart.testing import build_context

    return build_context(App.from_entry_points()).build(kind, spec)


def pictures(n: int = 4, size: int = 96) -> torch.Tensor:
    shapes = build("dataset", "shapes:count=8,seed=0").load(size, 3)[:n].float() / 255
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    rings = (0.5 + 0.5 * torch.cos((xx**2 + yy**2).float() / 90)).expand(3, -1, -1) * torch.tensor(
        [0.9, 0.6, 0.3]).view(3, 1, 1)
    return torch.cat([shapes, rings[None]]).clamp(0, 1)


def row(*images: torch.Tensor) -> torch.Tensor:
    from genart.images import make_grid

    size = max(i.shape[-1] for i in images)
    scaled = [F.interpolate(i, size=(size, size), mode="nearest") if i.shape[-1] != size else i for i in images]
    return make_grid(torch.cat([torch.stack(list(group)) for group in zip(*scaled, strict=True)]), nrow=len(images))


def main() -> None:
    from genart.images import save_image

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "images"))
    out = Path(parser.parse_args().out)
    torch.manual_seed(0)
    clean = pictures()
    noisy = (clean + torch.randn_like(clean) * 25 / 255).clamp(0, 1)
    with torch.inference_mode():
        save_image(row(noisy, build("post", "restore:sharpen=0")(noisy), build("post", "restore:task=denoise")(noisy),
                       clean), out / "restore-denoise.png", overwrite=True)
        from genart_restore.degrade import blur, jpeg

        blocky = jpeg(clean, torch.full((clean.shape[0],), 15))
        save_image(row(blocky, build("post", "restore")(blocky), build("post", "restore:task=jpeg")(blocky), clean),
                   out / "restore-jpeg.png", overwrite=True)
        soft = blur(clean, torch.full((clean.shape[0],), 1.5))
        save_image(row(soft, build("post", "restore")(soft), build("post", "restore:task=deblur")(soft), clean),
                   out / "restore-deblur.png", overwrite=True)
        mask = torch.zeros(1, 96, 96)
        mask[:, 30:50, 20:80] = 1
        mask[:, 60:90, 60:70] = 1
        mask_path = out / "restore-inpaint-mask.png"
        save_image(mask, mask_path, overwrite=True)
        holed = clean * (1 - mask)
        from genart_restore.degrade import push_pull_fill

        save_image(row(holed, push_pull_fill(holed, 1 - mask.expand_as(holed[:, :1])),
                       build("post", f"restore:task=inpaint,mask={mask_path}")(holed), clean),
                   out / "restore-inpaint.png", overwrite=True)
        low = F.interpolate(clean, scale_factor=0.25, mode="bicubic", antialias=True).clamp(0, 1)
        save_image(row(low, build("post", "upsample:scale=4,method=bicubic")(low),
                       build("post", "upsample:scale=4,method=learned")(low), clean),
                   out / "upsample-x4.png", overwrite=True)
    print(f"wrote pictures to {out}")


if __name__ == "__main__":
    main()
