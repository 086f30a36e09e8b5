"""Reading and writing images robustly, and turning tensors into pictures people look at.

Real image folders hold every kind of file: EXIF-rotated photos, palette GIFs, 16-bit greyscale
scans, CMYK JPEGs, truncated downloads and decompression bombs. ``load_image`` handles each or
raises :class:`ImageError` with a one-line reason; writes are atomic.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import GenartError
from .records.runs import write_bytes_atomic

__all__ = [
    "IMAGE_SUFFIXES",
    "class_grid",
    "ImageError",
    "MAX_PIXELS",
    "convert_channels",
    "is_image_path",
    "load_image",
    "make_grid",
    "open_pil",
    "pil_to_tensor",
    "save_animation",
    "save_image",
    "side_by_side",
    "split_alpha",
    "tensor_to_pil",
]


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".tga"}
#: Refuse images above this many pixels (Pillow's bomb check made an error instead of a warning).
MAX_PIXELS = 16384 * 16384


class ImageError(GenartError):
    """An image that cannot be read (corrupt, truncated, too large or not an image)."""


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def open_pil(path: str | os.PathLike[str]) -> Any:
    """Open and fully decode an image with orientation applied; errors become ImageError."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                opened.load()
                image = ImageOps.exif_transpose(opened)
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{path}: larger than {MAX_PIXELS} pixels (decompression bomb guard)") from None
    except Exception as error:  # Pillow raises many types for broken files
        raise ImageError(f"{path}: cannot read image ({type(error).__name__}: {error})") from None
    return image


def pil_to_tensor(image: Any, channels: int | None = None) -> Any:
    """A PIL image as float ``[C, H, W]`` in [0, 1]; 16-bit data keeps its precision.

    ``channels`` None keeps grey as 1, colour as 3 and any transparency as an alpha channel.
    """
    import numpy as np
    import torch

    mode = image.mode
    has_alpha = mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info)
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float32)
        scale = 65535.0 if mode.startswith("I;16") or array.max(initial=0) > 255 else 255.0
        tensor = torch.from_numpy(np.clip(array / scale, 0, 1))[None]
    elif mode == "F":
        tensor = torch.from_numpy(np.clip(np.asarray(image, dtype=np.float32), 0, 1))[None]
    else:
        if mode in ("1", "L"):
            target = "L"
        elif mode == "LA" or (mode == "PA"):
            target = "LA"
        else:
            target = "RGBA" if has_alpha else "RGB"
        converted = image.convert(target)
        array = np.asarray(converted, dtype=np.uint8)
        if array.ndim == 2:
            array = array[:, :, None]
        tensor = torch.from_numpy(array.copy()).permute(2, 0, 1).float() / 255.0
    return convert_channels(tensor, channels) if channels is not None else tensor


def convert_channels(tensor: Any, channels: int) -> Any:
    """``[C, H, W]`` or ``[N, C, H, W]`` to 1, 3 or 4 channels (alpha composited on white if dropped)."""
    import torch

    dim = tensor.dim() - 3
    c = tensor.shape[dim]
    if c == channels:
        return tensor
    color, alpha = (tensor.narrow(dim, 0, c - 1), tensor.narrow(dim, c - 1, 1)) if c in (2, 4) else (tensor, None)
    if alpha is not None and channels in (1, 3):
        color = color * alpha + (1 - alpha)
    if color.shape[dim] == 1 and channels in (3, 4):
        color = color.expand(*color.shape[:dim], 3, *color.shape[dim + 1:])
    elif color.shape[dim] == 3 and channels in (1, 2):
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=color.dtype, device=color.device)
        color = (color * weights.view(3, 1, 1)).sum(dim, keepdim=True)
    if channels in (2, 4):
        if alpha is None:
            alpha = torch.ones_like(color.narrow(dim, 0, 1))
        return torch.cat([color, alpha], dim)
    return color.contiguous()


def load_image(path: str | os.PathLike[str], channels: int | None = None) -> Any:
    """Read one image file as float ``[C, H, W]`` in [0, 1]."""
    return pil_to_tensor(open_pil(path), channels)


def tensor_to_pil(tensor: Any) -> Any:
    """``[C, H, W]`` in [0, 1] (C = 1, 2, 3 or 4) to an 8-bit PIL image."""
    from PIL import Image

    array = (tensor.detach().float().clamp(0, 1).mul(255).round().to("cpu").byte())
    array = array.permute(1, 2, 0).numpy()
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[array.shape[2]]
    if mode == "L":
        array = array[:, :, 0]
    return Image.fromarray(array, mode=mode)


def save_image(tensor: Any, path: str | os.PathLike[str], *, overwrite: bool = False,
               recipe: dict[str, Any] | str | None = None) -> Path:
    """Write ``[C, H, W]`` atomically; refuses to replace an existing file unless ``overwrite``.

    A PNG carries ``recipe`` (a dict, or its JSON text kept verbatim) in its text chunks; without
    one it still records the command line and versions (see :mod:`genart.records.recipe`)."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise GenartError(f"{target} already exists (use --overwrite to replace it)")
    image = tensor_to_pil(tensor)
    buffer = io.BytesIO()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF",
           ".tiff": "TIFF", ".gif": "GIF"}.get(target.suffix.lower(), "PNG")
    if fmt == "JPEG" and image.mode in ("RGBA", "LA"):
        image = image.convert("RGB" if image.mode == "RGBA" else "L")
    options: dict[str, Any] = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "PNG":
        from .records.recipe import base_recipe, dumps, png_info

        options["pnginfo"] = png_info(recipe if isinstance(recipe, str) else dumps(recipe or base_recipe("image")))
    image.save(buffer, format=fmt, **options)
    write_bytes_atomic(target, buffer.getvalue())
    return target


def make_grid(images: Any, nrow: int | None = None, padding: int = 2, pad_value: float = 1.0) -> Any:
    """Tile ``[N, C, H, W]`` into one ``[C, H', W']`` picture (square-ish by default)."""
    import torch

    n, c, h, w = images.shape
    if n == 0:
        raise GenartError("no images to put in a grid")
    ncol = nrow or max(1, math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncol)
    grid = torch.full((c, nrows * (h + padding) + padding, ncol * (w + padding) + padding), pad_value,
                      dtype=images.dtype)
    for index in range(n):
        row, col = divmod(index, ncol)
        top, left = padding + row * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = images[index].to(grid.device)
    return grid


def class_grid(rows: Sequence[Any], names: Sequence[str], padding: int = 2, pad_value: float = 1.0) -> Any:
    """One row per class, its name written to the left: ``rows[i]`` ``[M_i, C, H, W]`` images of class
    ``names[i]`` (rows may be shorter than the longest). A ``[C, H', W']`` picture, pixels at 1:1."""
    import numpy as np
    import torch
    from PIL import Image, ImageDraw, ImageFont

    if not rows or len(rows) != len(names):
        raise GenartError("class_grid needs one name per row of images")
    c, h, w = rows[0].shape[1:]
    columns = max(1, max(int(row.shape[0]) for row in rows))
    images = torch.full((len(rows) * columns, c, h, w), pad_value, dtype=torch.float32)
    for r, row in enumerate(rows):
        images[r * columns:r * columns + row.shape[0]] = row.float().cpu()
    grid = make_grid(images, nrow=columns, padding=padding, pad_value=pad_value)
    font = ImageFont.load_default()
    texts = [str(name) for name in names]
    text_width = max(int(math.ceil(font.getlength(text))) for text in texts)
    label = Image.new("L", (text_width + 3 * padding + 4, grid.shape[1]), int(round(pad_value * 255)))
    draw = ImageDraw.Draw(label)
    for r, text in enumerate(texts):
        top = padding + r * (h + padding)
        box = draw.textbbox((0, 0), text, font=font)
        draw.text((2 * padding, top + max(0, (h - (box[3] - box[1])) // 2) - box[1]), text, fill=0, font=font)
    column = torch.from_numpy(np.asarray(label, dtype=np.float32) / 255)[None]
    column = convert_channels(column, c) if c in (3, 4) else column
    if c == 4:
        column[3] = 1.0
    return torch.cat([column, grid], 2)


def side_by_side(left: Any, right: Any, gap: int = 8, pad_value: float = 1.0) -> Any:
    """Two ``[C, H, W]`` pictures next to each other (bottom-padded to a common height)."""
    import torch
    import torch.nn.functional as F

    c = max(left.shape[0], right.shape[0])
    left, right = convert_channels(left, c), convert_channels(right, c)
    h = max(left.shape[1], right.shape[1])
    left = F.pad(left, (0, 0, 0, h - left.shape[1]), value=pad_value)
    right = F.pad(right, (0, 0, 0, h - right.shape[1]), value=pad_value)
    spacer = torch.full((c, h, gap), pad_value, dtype=left.dtype)
    return torch.cat([left, spacer, right.to(left.dtype)], 2)


def save_animation(frames: Sequence[Any], path: str | os.PathLike[str], *, duration_ms: int = 80,
                   overwrite: bool = False) -> Path:
    """Write frames (``[C, H, W]`` each) as a looping GIF or WebP, atomically."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise GenartError(f"{target} already exists (use --overwrite to replace it)")
    pictures = [tensor_to_pil(frame).convert("RGB") for frame in frames]
    if not pictures:
        raise GenartError("no frames to animate")
    buffer = io.BytesIO()
    fmt = "WEBP" if target.suffix.lower() == ".webp" else "GIF"
    extra = {"lossless": True} if fmt == "WEBP" else {"optimize": False}
    pictures[0].save(buffer, format=fmt, save_all=True, append_images=pictures[1:], duration=duration_ms,
                     loop=0, **extra)
    write_bytes_atomic(target, buffer.getvalue())
    return target


def split_alpha(images: Any) -> tuple[Any, Any]:
    """``[N, C, H, W]`` -> (colour channels, alpha or None) for C in 1..4."""
    c = images.shape[1]
    if c in (2, 4):
        return images[:, : c - 1], images[:, c - 1:]
    return images, None
