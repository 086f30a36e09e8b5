"""The Starlette application: guard middleware, error pages, templates, and the routes of each page.

``create_app`` takes everything it needs (runs folder, registry, token, allowed hosts), so tests
build one per temporary folder; ``genart studio`` builds one and serves it with uvicorn.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from genart import GenartError
from genart.api import Registry

from .queue import Queue
from .runlist import RunList
from .security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    TOKEN_COOKIE,
    Forbidden,
    check_origin,
    host_name,
    new_csrf,
    same,
)
from .worker import Worker

PACKAGE = Path(__file__).resolve().parent
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
#: an upload request may hold this many images of the largest size (the form's limit is per image)
MAX_FILES_AT_ONCE = 16
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]", "testserver"})
_templates = Environment(loader=FileSystemLoader(PACKAGE / "templates"), autoescape=select_autoescape(["html"]))


def _short(text: str, width: int = 48) -> str:
    """A long spec (a folder path) cut in the middle, keeping its name and its last folder."""
    if len(text) <= width:
        return text
    return text[: width // 2 - 1] + "…" + text[-(width // 2):]


_templates.filters["short"] = _short


@dataclass
class Studio:
    """What every route needs; stored on ``app.state.studio``."""

    runs_dir: Path
    registry: Registry
    queue: Queue
    runs: RunList
    token: str | None
    hosts: frozenset[str] | set[str] | None
    max_upload: int
    worker: Worker | None


def studio_of(request: Request) -> Studio:
    studio: Studio = request.app.state.studio
    return studio


def page(request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
    """A page from the package's templates, with the session's CSRF token for its forms."""
    html = _templates.get_template(template).render(csrf=request.state.csrf, request=request, **context)
    return HTMLResponse(html, status_code=code)


def error_page(request: Request, message: str, status: int) -> HTMLResponse:
    if not hasattr(request.state, "csrf"):
        request.state.csrf = ""
    return page(request, "error.html", code=status, message=message, title="Error")


async def post_form(request: Request) -> dict[str, str]:
    """A POSTed form's text fields, after checking its CSRF token against the session's cookie."""
    form = await request.form()
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    if not same(values.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER), request.cookies.get(CSRF_COOKIE)):
        raise Forbidden("refused: the form's security token is missing or stale (reload the page and try again)")
    return values


class Guard(BaseHTTPMiddleware):
    """Host check (DNS rebinding), the access token, Origin checks on writes, the CSRF cookie."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        studio = studio_of(request)
        request.state.csrf = request.cookies.get(CSRF_COOKIE) or new_csrf()
        try:
            host = request.headers.get("host", "")
            if studio.hosts is not None and host_name(host) not in studio.hosts:
                raise Forbidden(f"refused: this studio answers to 127.0.0.1 or localhost, not {host!r}")
            given = request.query_params.get("token")
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or None
            if studio.token is not None and not (same(given, studio.token) or same(bearer, studio.token)
                                                 or same(request.cookies.get(TOKEN_COOKIE), studio.token)):
                return error_page(request, "this studio needs its access token: open the address printed "
                                           "when it started (it ends in ?token=...)", 401)
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                check_origin(request.headers.get("origin"), request.headers.get("referer"), host)
        except Forbidden as error:
            return error_page(request, str(error), 403)
        response = await call_next(request)
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict")
        if studio.token is not None and same(given, studio.token):
            response.set_cookie(TOKEN_COOKIE, studio.token, httponly=True, samesite="strict")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


async def _genart_error(request: Request, exc: Exception) -> Response:
    return error_page(request, str(exc), 400)


async def _forbidden(request: Request, exc: Exception) -> Response:
    return error_page(request, str(exc), 403)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_page(request, str(exc.detail), exc.status_code)


async def _any_error(request: Request, exc: Exception) -> Response:
    """A bug in the studio is a one-line message on the page, never a traceback."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return error_page(request, f"the studio failed: {type(exc).__name__}{': ' + message if message else ''}", 500)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _lifespan(worker: Worker | None) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    return lifespan


def create_app(runs_dir: Path, registry: Registry, *, token: str | None = None,
               hosts: frozenset[str] | set[str] | None = LOOPBACK_NAMES, max_upload: int = MAX_UPLOAD_BYTES,
               start_worker: bool = True, worker_env: dict[str, str] | None = None) -> Starlette:
    """The studio for ``runs_dir``; ``start_worker`` False leaves the queue unrun (tests, a second viewer).

    ``hosts`` are the Host names answered (loopback names by default; None: any, for a token-guarded studio).
    """
    from . import routes_files, routes_jobs, routes_new, routes_runs, routes_upload

    runs_dir = Path(runs_dir).resolve()
    runs_dir.mkdir(parents=True, exist_ok=True)
    queue = Queue(runs_dir)
    worker = Worker(queue, env=worker_env) if start_worker else None
    routes = [*routes_runs.ROUTES, *routes_jobs.ROUTES, *routes_new.ROUTES, *routes_files.ROUTES,
              *routes_upload.ROUTES]
    app = Starlette(routes=routes, middleware=[Middleware(Guard)],
                    exception_handlers={GenartError: _genart_error, Forbidden: _forbidden,
                                        HTTPException: _http_error, Exception: _any_error},
                    lifespan=_lifespan(worker), max_body_size=max_upload * MAX_FILES_AT_ONCE)
    app.state.studio = Studio(runs_dir, registry, queue, RunList(runs_dir), token, hosts, max_upload, worker)
    return app
