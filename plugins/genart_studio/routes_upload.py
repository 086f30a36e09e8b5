"""Uploads: images dropped on the page become a folder under ``uploads/`` in the runs folder.

Each file is size-limited while it streams in, then opened with genart's own image reader
(``genart.images.open_pil``: decompression bombs, truncated and non-image files are refused with
its one-line reason) before it is kept. The folder then feeds a post chain or training.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from genart import GenartError, UsageError
from genart.api import write_bytes_atomic
from genart.images import ImageError, is_image_path, open_pil

from .app import page, post_form, studio_of

MAX_FILES = 500


def clean_name(name: str) -> str:
    """A safe file name from what the browser sent (folder parts and odd characters dropped)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(name.replace("\\", "/"))).strip("._")
    return base[:100] or "image"


def new_folder(runs_dir: Path) -> Path:
    base = runs_dir / "uploads" / time.strftime("%Y%m%d-%H%M%S")
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = Path(f"{base}-{n}")
    folder.mkdir(parents=True)
    return folder


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await upload.read(1 << 20)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise UsageError(f"{upload.filename}: larger than the upload limit of {limit // (1024 * 1024)} MiB")
        chunks.append(chunk)


def keep_image(data: bytes, target: Path) -> None:
    """Write ``target`` only if genart's guard passes: the file decodes fully and stays under its pixel limit."""
    part = target.with_name(f".{target.name}.part")
    write_bytes_atomic(part, data)
    try:
        open_pil(part).close()
    except ImageError as error:
        part.unlink(missing_ok=True)
        raise UsageError(f"{target.name}: {str(error).split(': ', 1)[-1]}") from None
    os.replace(part, target)


async def upload_page(request: Request) -> Response:
    studio = studio_of(request)
    return page(request, "upload.html", title="Upload", limit_mib=studio.max_upload // (1024 * 1024))


async def upload(request: Request) -> Response:
    """Keep the good images, report the refused ones; JSON for the page's script, which then goes on."""
    try:
        return await _upload(request)
    except GenartError as error:
        return JSONResponse({"error": str(error)}, status_code=400)


async def _upload(request: Request) -> Response:
    studio = studio_of(request)
    async with request.form(max_files=MAX_FILES, max_part_size=1 << 20) as form:
        await post_form(request)
        files = [v for v in form.getlist("files") if isinstance(v, UploadFile)]
        if not files:
            raise UsageError("no files in the upload")
        folder: Path | None = None
        kept, refused = [], []
        for item in files:
            name = clean_name(item.filename or "image")
            if not is_image_path(Path(name)):
                refused.append(f"{name}: not an image file name (png, jpg, webp, ...)")
                continue
            folder = folder or new_folder(studio.runs_dir)
            target = folder / name
            stem, n = target.stem, 1
            while target.exists():
                n += 1
                target = folder / f"{stem}-{n}{target.suffix}"
            try:
                keep_image(await _read_limited(item, studio.max_upload), target)
            except UsageError as error:
                refused.append(str(error).replace(target.name, name, 1))
                continue
            kept.append(target.name)
    if folder is not None and not kept:
        folder.rmdir()
        folder = None
    if folder is None:
        return JSONResponse({"error": "; ".join(refused) or "nothing kept"}, status_code=400)
    relative = str(folder.relative_to(studio.runs_dir))
    return JSONResponse({"folder": relative, "kept": kept, "refused": refused,
                         "post": f"/new?kind=post&IMAGES={relative}",
                         "train": f"/new?kind=train&data=folder&data.folder.path={folder}"})


ROUTES = [
    Route("/upload", upload_page),
    Route("/upload", upload, methods=["POST"]),
]
