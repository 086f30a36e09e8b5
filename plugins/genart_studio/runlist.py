"""The runs in a folder as cards: what a person compares first, read from each run's manifest.json.

Cards are cached by the manifest's modification time, so listing 500 runs reads only the manifests
that changed since the last page (a run in training rewrites its manifest; finished ones do not).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .queue import STATE_DIR

SORTS = {
    "newest": (lambda c: c.created, True),
    "oldest": (lambda c: c.created, False),
    "model": (lambda c: (c.model, c.created), False),
    "steps": (lambda c: c.steps, True),
    "time": (lambda c: c.train_s, True),
}


@dataclass
class Card:
    name: str
    status: str
    created: str
    model: str
    data: str
    steps: int
    train_s: float
    image: str | None  # path relative to the runs folder
    post: list[str] = field(default_factory=list)
    eval: dict[str, dict[str, float]] = field(default_factory=dict)
    losses: dict[str, float] = field(default_factory=dict)

    @property
    def time_label(self) -> str:
        minutes, seconds = divmod(int(self.train_s), 60)
        return f"{minutes}m{seconds:02d}s" if self.train_s else ""

    def matches(self, text: str) -> bool:
        text = text.lower()
        return any(text in value.lower() for value in (self.name, self.model, self.data, self.status))


def _eval_figures(manifest: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``genart eval`` figures per data spec (manifest metrics.eval and metrics.sample_eval), numbers only."""
    figures: dict[str, dict[str, float]] = {}
    metrics = manifest.get("metrics", {})
    for section in ("eval", "sample_eval"):
        block = metrics.get(section, {}) if isinstance(metrics, dict) else {}
        for spec, record in (block.items() if isinstance(block, dict) else []):
            values = record.get("results", record) if isinstance(record, dict) else {}
            if not isinstance(values, dict):
                continue
            numbers = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            figures.setdefault(str(spec), {}).update(numbers)
    return figures


def _image(run: Path, root: Path) -> str | None:
    grid = run / "grid.png"
    if grid.is_file():
        return str(grid.relative_to(root))
    snapshots = run / "snapshots"
    if snapshots.is_dir():
        newest = max((p.name for p in os.scandir(snapshots) if p.name.endswith(".png")), default=None)
        if newest:
            return str((snapshots / newest).relative_to(root))
    return None


def card(run: Path, root: Path, manifest: dict[str, Any]) -> Card:
    train = manifest.get("train", {}) if isinstance(manifest.get("train"), dict) else {}
    model = manifest.get("model", {}) if isinstance(manifest.get("model"), dict) else {}
    data = manifest.get("data", {}) if isinstance(manifest.get("data"), dict) else {}
    timings = manifest.get("timings", {}) if isinstance(manifest.get("timings"), dict) else {}
    steps = train.get("steps_done", train.get("steps", 0))
    return Card(name=str(run.relative_to(root)), status=str(manifest.get("status", "")),
                created=str(manifest.get("created", "")), model=str(model.get("spec", "")),
                data=str(data.get("spec") or ""), steps=steps if isinstance(steps, int) else 0,
                train_s=float(timings.get("train_s", 0.0) or 0.0), image=_image(run, root),
                post=[str(p) for p in manifest.get("post", []) or []], eval=_eval_figures(manifest),
                losses={k: v for k, v in (manifest.get("losses") or {}).items() if isinstance(v, (int, float))})


class RunList:
    """Cards of the run folders directly inside ``root`` (those with a manifest.json)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[str, tuple[int, Card]] = {}

    def cards(self) -> list[Card]:
        found: list[Card] = []
        seen = set()
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return []
        for entry in entries:
            if entry.name in (STATE_DIR, "uploads") or not entry.is_dir(follow_symlinks=False):
                continue
            manifest = os.path.join(entry.path, "manifest.json")
            try:
                mtime = os.stat(manifest).st_mtime_ns
            except OSError:
                continue
            seen.add(entry.name)
            cached = self._cache.get(entry.name)
            if cached is None or cached[0] != mtime:
                try:
                    with open(manifest, encoding="utf-8") as handle:
                        value = json.load(handle)
                except (OSError, ValueError):
                    continue
                if not isinstance(value, dict):
                    continue
                cached = (mtime, card(Path(entry.path), self.root, value))
                self._cache[entry.name] = cached
            found.append(cached[1])
        for name in set(self._cache) - seen:
            del self._cache[name]
        return found

    def listing(self, sort: str = "newest", text: str = "", status: str = "") -> list[Card]:
        key, reverse = SORTS.get(sort, SORTS["newest"])
        cards = [c for c in self.cards() if (not text or c.matches(text)) and (not status or c.status == status)]
        return sorted(cards, key=key, reverse=reverse)  # type: ignore[arg-type]
