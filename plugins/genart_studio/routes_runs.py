"""The runs page (cards, sort, filter), the side-by-side comparison, and one run's page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from genart import UsageError

from .app import page, studio_of
from .runlist import SORTS, card
from .security import safe_path

RUN_IMAGES = ("grid.png", "comparison.png", "progress.png", "curves.png")


async def runs_page(request: Request) -> Response:
    studio = studio_of(request)
    sort = request.query_params.get("sort", "newest")
    text = request.query_params.get("q", "").strip()
    status = request.query_params.get("status", "").strip()
    cards = studio.runs.listing(sort, text, status)
    statuses = sorted({c.status for c in studio.runs.cards() if c.status})
    active = [j for j in studio.queue.jobs(limit=20) if j.active]
    return page(request, "runs.html", title="Runs", cards=cards, sort=sort, sorts=list(SORTS), q=text,
                status=status, statuses=statuses, active=active, runs_dir=str(studio.runs_dir))


def _run_dir(request: Request, name: str) -> Path:
    run = safe_path(studio_of(request).runs_dir, name)
    if not (run / "manifest.json").is_file():
        raise UsageError(f"no run {name!r} in the runs folder")
    return run


def _manifest(run: Path) -> dict[str, Any]:
    try:
        value = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"{run.name}: cannot read its manifest.json ({type(error).__name__})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{run.name}: its manifest.json is not a JSON object")
    return value


async def compare_page(request: Request) -> Response:
    studio = studio_of(request)
    names = request.query_params.getlist("run")
    if len(names) < 2:
        raise UsageError("tick two or more runs to compare them")
    cards = [card(run, studio.runs_dir, _manifest(run)) for run in (_run_dir(request, n) for n in names)]
    figures = sorted({key for c in cards for values in c.eval.values() for key in values})
    losses = sorted({key for c in cards for key in c.losses})
    return page(request, "compare.html", title="Compare", cards=cards, figures=figures, losses=losses)


async def run_page(request: Request) -> Response:
    studio = studio_of(request)
    name = request.path_params["name"]
    run = _run_dir(request, name)
    manifest = _manifest(run)
    info = card(run, studio.runs_dir, manifest)
    job = studio.queue.for_run(run)
    images = [f for f in RUN_IMAGES if (run / f).is_file()]
    samples = sorted(p.name for p in (run / "samples").glob("*.png"))[:64] if (run / "samples").is_dir() else []
    snapshots = sorted(p.name for p in (run / "snapshots").glob("*.png")) if (run / "snapshots").is_dir() else []
    return page(request, "run.html", title=info.name, card=info, job=job, images=images, samples=samples,
                newest_snapshot=snapshots[-1] if snapshots else None, name=info.name,
                report=(run / "report.html").is_file(), command=manifest.get("command", ""),
                error=manifest.get("error"))


ROUTES = [
    Route("/", runs_page),
    Route("/compare", compare_page),
    Route("/runs/{name:path}", run_page),
]
