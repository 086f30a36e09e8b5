"""Files from the runs folder and the package, and the image page (full size, recipe, reproduce).

Every path goes through :func:`.security.safe_path`: a file outside the runs folder (``..``, an
encoded ``..``, an absolute path, a symlink pointing out) is refused, whatever the URL looks like.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from genart import UsageError

from .app import PACKAGE, page, post_form, redirect, studio_of
from .jobforms import _stamp
from .security import Forbidden, safe_path

RECIPE_KEY = "genart"  # the PNG text chunk genart writes its recipe into (see docs/runs.md)


def _file(root: Path, relative: str, *, html_ok: bool) -> Response:
    path = safe_path(root, relative)
    if not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    headers = {"Cache-Control": "no-cache"}
    if path.suffix.lower() in (".html", ".htm", ".svg"):
        if not html_ok:
            raise Forbidden("refused: only images and reports are served")
        # a report may show the images beside it, but runs no script and loads nothing from elsewhere
        headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'none'"
    return FileResponse(path, headers=headers, content_disposition_type="inline")


async def files(request: Request) -> Response:
    return _file(studio_of(request).runs_dir, request.path_params["path"], html_ok=True)


async def static(request: Request) -> Response:
    return _file(PACKAGE / "static", request.path_params["path"], html_ok=False)


def read_recipe(path: Path) -> dict[str, Any] | None:
    """The recipe genart stored in a PNG (None when it has none); reads the chunks, not the pixels."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            text = getattr(image, "text", None) or image.info
            value = text.get(RECIPE_KEY)
    except Exception:  # Pillow raises many kinds for non-images
        return None
    if not isinstance(value, str):
        return None
    try:
        recipe = json.loads(value)
    except ValueError:
        return None
    return recipe if isinstance(recipe, dict) else None


async def image_page(request: Request) -> Response:
    studio = studio_of(request)
    relative = request.query_params.get("path", "")
    path = safe_path(studio.runs_dir, relative)
    if not path.is_file():
        raise UsageError(f"no image {relative!r} in the runs folder")
    recipe = read_recipe(path)
    command = recipe.get("command") if recipe else None
    command_text = shlex.join(command) if isinstance(command, list) else (str(command) if command else "")
    neighbours = sorted(p.name for p in path.parent.iterdir() if p.suffix.lower() == ".png")
    return page(request, "image.html", title=path.name, path=str(path.relative_to(studio.runs_dir)),
                recipe=json.dumps(recipe, indent=2, sort_keys=True) if recipe else None, command=command_text,
                folder=str(path.parent.relative_to(studio.runs_dir)), neighbours=neighbours)


async def reproduce(request: Request) -> Response:
    """Queue ``genart reproduce IMAGE --out runs/reproduced/<time>``: the image made again from its recipe."""
    studio = studio_of(request)
    form = await post_form(request)
    path = safe_path(studio.runs_dir, form.get("path", ""))
    if not path.is_file() or read_recipe(path) is None:
        raise UsageError("that image carries no genart recipe to reproduce")
    out = _stamp(studio.runs_dir, "reproduced")
    job = studio.queue.add("reproduce", ["genart", "reproduce", str(path), "--out", str(out)], out=str(out))
    if studio.worker is not None:
        studio.worker.wake.set()
    return redirect(f"/jobs/{job}")


ROUTES = [
    Route("/files/{path:path}", files),
    Route("/static/{path:path}", static),
    Route("/image", image_page),
    Route("/reproduce", reproduce, methods=["POST"]),
]
