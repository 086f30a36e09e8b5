"""Helpers for the studio's tests (tests/support is on the path; the fixtures are in tests/plugins/studio)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

ORIGIN = {"origin": "http://testserver"}


def png_bytes(size: int = 8, colour: tuple[int, int, int] = (200, 40, 40), text: dict[str, str] | None = None) -> bytes:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_itxt(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def fake_run(root: Path, name: str, *, model: str = "vae", steps: int = 10, status: str = "complete",
             created: str = "2026-12-01T10:00:00+0000", eval_figures: dict[str, Any] | None = None) -> Path:
    """A run folder as genart writes one (manifest, grid with a recipe, samples), without training."""
    run = root / name
    (run / "samples").mkdir(parents=True)
    recipe = {"format": "genart-recipe-1", "kind": "sample", "command": ["genart", "run", "--model", model],
              "seed": 0}
    (run / "grid.png").write_bytes(png_bytes(16, text={"genart": json.dumps(recipe)}))
    (run / "samples" / "0000.png").write_bytes(png_bytes(8, text={"genart": json.dumps(recipe)}))
    (run / "checkpoint.safetensors").write_bytes(b"")
    manifest = {"format": "genart-run-1", "status": status, "created": created,
                "command": f"genart run --model {model}", "model": {"spec": model, "name": model},
                "data": {"spec": "shapes"}, "train": {"steps_done": steps}, "timings": {"train_s": 65.0},
                "losses": {"loss": 1.5}, "metrics": {"eval": eval_figures or {}}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run


def csrf(client: Any) -> str:
    value = client.cookies.get("genart_studio_csrf")
    assert value
    return str(value)


def post(client: Any, url: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """A POST as the studio's own page sends it: its Origin and the session's CSRF token."""
    headers = {**ORIGIN, **kwargs.pop("headers", {})}
    return client.post(url, data={"csrf": csrf(client), **(data or {})}, headers=headers,
                       follow_redirects=False, **kwargs)


def error_of(html: str) -> str:
    import html as html_module
    import re

    found = re.findall(r'id="(?:error-message|form-error)">(.*?)</p>', html, re.S)
    return html_module.unescape(found[0]) if found else ""
