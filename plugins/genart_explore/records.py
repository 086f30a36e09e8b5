"""Where ``genart eval`` keeps its figures: in the run's manifest, beside what training recorded, so
``genart runs`` and the report can show them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.api import MANIFEST, read_json, write_json_atomic


def save_metrics(run_dir: Path, data_spec: str, record: dict[str, Any], section: str = "eval") -> None:
    """Add the figures under metrics.<section>[data spec], re-reading the manifest just before writing."""
    path = run_dir / MANIFEST
    manifest = read_json(path)
    manifest.setdefault("metrics", {}).setdefault(section, {})[data_spec] = record
    write_json_atomic(path, manifest)
