"""The new-job page: forms generated from the registry; a submission is checked, then queued."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from genart import DATASET, MODEL, POST, GenartError

from .app import page, post_form, redirect, studio_of
from .forms import components, params_fields
from .jobforms import FORMS, POST_SLOTS, STYLE_SKIP, build_argv
from .queue import STATE_DIR

MAX_CHOICES = 500


def _runs(runs_dir: Path) -> list[str]:
    return sorted((e.name for e in os.scandir(runs_dir) if e.is_dir() and e.name != STATE_DIR
                   and os.path.isfile(os.path.join(e.path, "checkpoint.safetensors"))), reverse=True)[:MAX_CHOICES]


def _images(runs_dir: Path) -> list[str]:
    """Uploaded folders and images, newest first: what the image inputs offer."""
    uploads = runs_dir / "uploads"
    if not uploads.is_dir():
        return []
    found: list[str] = []
    for folder in sorted(uploads.iterdir(), reverse=True):
        if folder.is_dir():
            found.append(str(folder.relative_to(runs_dir)))
            found.extend(str(p.relative_to(runs_dir)) for p in sorted(folder.iterdir()) if p.is_file())
    return found[:MAX_CHOICES]


def _render(request: Request, kind: str, values: dict[str, str], message: str = "", status: int = 200) -> Response:
    studio = studio_of(request)
    form = FORMS.get(kind) or FORMS["train"]
    registry = studio.registry
    catalogue = {MODEL: components(registry, MODEL), DATASET: components(registry, DATASET),
                 POST: components(registry, POST)}
    style = params_fields(registry.get(POST, "style").params, STYLE_SKIP) \
        if form.style_params and "style" in registry.names(POST) else []
    if form.kind == "stylize":
        style = [f if f.name != "size" else type(f)(**{**vars(f), "default": "512"}) for f in style]
    return page(request, "new.html", code=status, title=form.title, form=form, forms=FORMS, values=values,
                catalogue=catalogue, post_slots=range(POST_SLOTS), style=style, message=message,
                runs=_runs(studio.runs_dir), images=_images(studio.runs_dir), MODEL=MODEL, DATASET=DATASET, POST=POST)


async def new_page(request: Request) -> Response:
    """The form, pre-filled from the query string (links from other pages use that)."""
    values = dict(request.query_params)
    return _render(request, values.pop("kind", "train"), values)


async def submit(request: Request) -> Response:
    studio = studio_of(request)
    values = await post_form(request)
    kind = values.get("kind", "train")
    try:
        argv, resumable = build_argv(kind, values, studio.registry, studio.runs_dir)
    except GenartError as error:
        return _render(request, kind, values, message=str(error), status=400)
    out = argv[argv.index("--out") + 1] if "--out" in argv and kind != "train" else None
    job = studio.queue.add(kind, argv, resumable=resumable, out=out)
    if studio.worker is not None:
        studio.worker.wake.set()
    return redirect(f"/jobs/{job}")


ROUTES = [
    Route("/new", new_page),
    Route("/new", submit, methods=["POST"]),
]
