"""What every page of the studio shares: the studio's state, templates, the CSRF-checked form, redirects.

Its own module so the route modules and the application that mounts them import it, not each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from genart.api import Registry

from .queue import Queue
from .runlist import RunList
from .security import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, Forbidden, same
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


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
