"""What keeps the studio from being a hole: host and token checks, CSRF, and safe file paths.

Loopback by default. Bound elsewhere, every request needs the token (``?token=`` once, then a
cookie, or ``Authorization: Bearer``). Loopback binding alone does not stop a web page the artist
visits from talking to the studio, so the Host header must name the studio (DNS rebinding) and every
POST must come from the studio's own pages: its Origin (or Referer) is the studio and it carries the
per-session CSRF token of the page's form (double-submit cookie).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from genart import UsageError

TOKEN_COOKIE = "genart_studio_token"
CSRF_COOKIE = "genart_studio_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


class Forbidden(Exception):
    """A request the studio refuses (403), with the reason shown on the page."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(host: str, token: str | None) -> tuple[str | None, bool]:
    """The token the server requires (None on loopback without one) and whether it was generated."""
    if token is not None:
        if len(token) < 8:
            raise UsageError("--token must be at least 8 characters")
        return token, False
    if is_loopback(host):
        return None, False
    return secrets.token_urlsafe(24), True


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


def allowed_hosts(host: str) -> set[str] | None:
    """Host names accepted in the Host header; None (any) when bound beyond loopback, where the token guards."""
    if not is_loopback(host):
        return None
    return {"127.0.0.1", "localhost", "[::1]", "testserver"}  # testserver: Starlette's TestClient


def host_name(header: str) -> str:
    """The name in a Host header, without the port (``[::1]:8760`` -> ``[::1]``)."""
    if header.startswith("["):
        return header[: header.find("]") + 1]
    return header.split(":", 1)[0]


def check_origin(origin: str | None, referer: str | None, host: str | None) -> None:
    """A POST must come from a page of this studio: Origin (or, without one, Referer) names our host."""
    source = origin if origin and origin != "null" else referer
    if not source:
        raise Forbidden("refused: the request does not say which page sent it (no Origin or Referer)")
    if urlsplit(source).netloc != (host or ""):
        raise Forbidden(f"refused: a request from {urlsplit(source).netloc or source!r} to this studio")


def new_csrf() -> str:
    return secrets.token_urlsafe(16)


def safe_path(root: Path, relative: str) -> Path:
    """``relative`` inside ``root`` or Forbidden: no ``..``, no absolute paths, no symlink out of root.

    The URL path arrives decoded once; decoding until nothing changes catches ``%252e%252e`` too.
    """
    text = relative
    for _ in range(4):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    if "\x00" in text or text.startswith(("/", "\\")) or os.path.isabs(text) or ":" in text.split("/")[0]:
        raise Forbidden("refused: not a path inside the folder")
    parts = text.replace("\\", "/").split("/")
    if any(part == ".." for part in parts):
        raise Forbidden("refused: a path may not contain '..'")
    base = root.resolve()
    target = (base / text).resolve()
    if target != base and base not in target.parents:
        raise Forbidden("refused: that file is outside the folder")
    return target
