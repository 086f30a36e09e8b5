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

from genart import UsageError
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
    chunks, size = [], 0
    while True:
        chunk = await upload.read(1 << 20)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise UsageError(f"{upload.filename}: larger than the upload limit of {limit // (1024 * 1024)} MiB")
        chunks.append(chunk)


def check_image(data: bytes, name: str) -> None:
    """genart's guard: the file must decode fully and stay under genart's pixel limit."""
    import io

    try:
        image = open_pil(io.BytesIO(data))
    except ImageError as error:
        raise UsageError(f"{name}: {str(error).split(': ', 1)[-1]}") from None
    image.close()


async def upload_page(request: Request) -> Response:
    studio = studio_of(request)
    return page(request, "upload.html", title="Upload", limit_mib=studio.max_upload // (1024 * 1024))


async def upload(request: Request) -> Response:
    """Keep the good images, report the refused ones; JSON for the page's script, which then goes on."""
    studio = studio_of(request)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > studio.max_upload * 4:
        raise UsageError(f"upload too large (limit {studio.max_upload // (1024 * 1024)} MiB per image)")
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
            try:
                data = await _read_limited(item, studio.max_upload)
                check_image(data, name)
            except UsageError as error:
                refused.append(str(error))
                continue
            folder = folder or new_folder(studio.runs_dir)
            target = folder / name
            stem, n = target.stem, 1
            while target.exists():
                n += 1
                target = folder / f"{stem}-{n}{target.suffix}"
            write_bytes_atomic(target, data)
            kept.append(target.name)
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
