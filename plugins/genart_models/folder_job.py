"""Folder jobs that survive anything: a tree of images in, the same tree out, resumable after a kill.

Written for ``genart post`` (and ``genart stylize``) to host once the core refactor lands (REQUESTS.md);
it uses public names only. What it guarantees:

- the input tree is mirrored into ``out`` (same relative paths; ``fmt`` changes the suffix), so two
  ``x.png`` in different folders stay two files; two inputs that would still meet (``x.png`` and
  ``x.jpg`` written as png): the one that changes suffix keeps its old one in the name (``x.jpg.png``);
- junk (hidden files, ``Thumbs.db``, ``desktop.ini``, ``__MACOSX``) and non-images are skipped and counted;
- a file that cannot be read or processed is reported at the end and the job goes on;
- every output is written atomically, and *then* a line naming it is appended to a journal in ``out``
  (flushed at once, fsynced at most every second: fsync per item would cost more than small items
  do); a rerun skips every journalled item whose source is unchanged (size and modification time)
  and whose output exists, so a kill, a reboot or a full disk loses at most the item
  in flight. An output that exists without its journal line (a kill between the two) is adopted when it
  is a PNG whose recipe names the same input SHA-256 and the same chain, so it is not written twice;
- under torchrun each rank takes every ``world``-th item and keeps its own journal.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JUNK_NAMES = {"thumbs.db", "desktop.ini", "ehthumbs.db", "icon\r"}
JUNK_DIRS = {"__MACOSX", ".git", ".svn"}
FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp"}
WRITABLE = {".png", ".jpg", ".jpeg", ".webp"}
JOURNAL = ".genart-done"
SYNC_SECONDS = 1.0


@dataclass
class Plan:
    items: list[tuple[Path, str]] = field(default_factory=list)  # (source, output path relative to out)
    junk: int = 0
    not_images: int = 0


def is_junk(path: Path) -> bool:
    return path.name.startswith(".") or path.name.lower() in JUNK_NAMES or any(p in JUNK_DIRS for p in path.parts)


def plan(sources: Iterable[Path], fmt: str | None, is_image: Callable[[Path], bool]) -> Plan:
    """What to make: each source file's output path, mirroring folders; junk and non-images counted."""
    result = Plan()
    sources = list(sources)
    for source in sources:
        if source.is_dir():  # one folder: its tree; several: each under its own name, as cp -r does
            top = Path(source.name) if len(sources) > 1 else Path()
            entries = [(p, top / p.relative_to(source)) for p in sorted(source.rglob("*")) if p.is_file()]
        else:
            entries = [(source, Path(source.name))]
        for path, inner in entries:
            if is_junk(inner):
                result.junk += 1
            elif not is_image(path):
                result.not_images += 1
            else:
                result.items.append((path, inner.as_posix()))
    suffix = FORMATS[fmt] if fmt else None
    taken: dict[str, int] = {}
    outputs = []
    for _path, name in result.items:
        own = Path(name).suffix.lower()
        target = Path(name).with_suffix(suffix or (own if own in WRITABLE else ".png")).as_posix()
        taken[target] = taken.get(target, 0) + 1
        outputs.append(target)
    used: set[str] = set()
    for index, ((path, name), target) in enumerate(zip(result.items, outputs, strict=True)):
        # x.png and x.jpg both becoming x.png: x.png keeps its name, x.jpg becomes x.jpg.png
        chosen = name + (suffix or ".png") if taken[target] > 1 and name != target else target
        stem, dot, ext = chosen.rpartition(".")
        number = 2
        while chosen in used:  # still taken (two files given by the same name): number them
            chosen = f"{stem}-{number}{dot}{ext}"
            number += 1
        used.add(chosen)
        result.items[index] = (path, chosen)
    return result


def source_key(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


class Journal:
    """Finished items, one JSON line each, appended after the output's atomic write."""

    def __init__(self, out: Path, rank: int, chain_key: str) -> None:
        self.out, self.chain_key = out, chain_key
        self.path = out / (f"{JOURNAL}.jsonl" if rank == 0 else f"{JOURNAL}.rank{rank}.jsonl")
        self.done: dict[str, dict[str, Any]] = {}
        for journal in sorted(out.glob(f"{JOURNAL}*.jsonl")) if out.is_dir() else []:
            for line in journal.read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                    self.done[entry["output"]] = entry
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line from a kill mid-append
        self.handle: Any = None
        self.synced = time.monotonic()

    def finished(self, source: Path, output: str) -> bool:
        entry = self.done.get(output)
        return (entry is not None and entry.get("chain") == self.chain_key
                and entry.get("source_key") == source_key(source) and (self.out / output).is_file())

    def record(self, source: Path, output: str, adopted: bool = False) -> None:
        if self.handle is None:
            self.out.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - open for the job's life
        entry: dict[str, Any] = {"output": output, "source": str(source), "source_key": source_key(source),
                                 "chain": self.chain_key}
        if adopted:
            entry["adopted"] = True
        self.handle.write(json.dumps(entry, sort_keys=True) + "\n")
        self.handle.flush()  # in the OS's hands: a killed process loses nothing
        if time.monotonic() - self.synced > SYNC_SECONDS:  # a power cut loses at most a second of lines,
            os.fsync(self.handle.fileno())  # and those PNGs are adopted again by their recipes
            self.synced = time.monotonic()

    def close(self) -> None:
        if self.handle is not None:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()


def adoptable(target: Path, source: Path, post: list[str]) -> bool:
    """A PNG already written for this source by this chain (the kill came between write and journal)."""
    if target.suffix.lower() != ".png" or not target.is_file():
        return False
    from PIL import Image

    from .files import sha256_of

    try:
        with Image.open(target) as image:
            recipe = json.loads(getattr(image, "text", {}).get("genart", "{}"))
    except Exception:  # not a readable PNG: it will be made again
        return False
    entry = recipe.get("input") or {} if isinstance(recipe, dict) else {}
    return recipe.get("post") == post and entry.get("sha256") == sha256_of(source)


@dataclass
class Outcome:
    written: int = 0
    skipped: int = 0
    adopted: int = 0
    failed: list[str] = field(default_factory=list)


def run(job: Plan, out: Path, process: Callable[[Path, Path], None], *, post: list[str], overwrite: bool = False,
        rank: int = 0, world: int = 1, events: Callable[[dict[str, Any]], None] | None = None,
        bar: Any = None) -> Outcome:
    """``process(source, target)`` makes and atomically writes one output; everything else is here."""
    chain_key = json.dumps(post)
    journal = Journal(out, rank, chain_key)
    outcome = Outcome()
    mine = job.items[rank::world]
    try:
        for index, (source, output) in enumerate(mine):
            target = out / output
            started = time.perf_counter()
            status = "written"
            if not overwrite and journal.finished(source, output):
                status = "skipped"
                outcome.skipped += 1
            elif not overwrite and adoptable(target, source, post):
                journal.record(source, output, adopted=True)
                status = "adopted"
                outcome.adopted += 1
            else:
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    process(source, target)
                    journal.record(source, output)
                    outcome.written += 1
                except Exception as error:  # one bad file must not end the job
                    from genart.errors import one_line

                    status = "failed"
                    outcome.failed.append(f"{source}: {one_line(error)}")
            if events is not None:
                events({"event": "item", "index": index, "total": len(mine), "source": str(source),
                        "output": str(target), "status": status,
                        "seconds": round(time.perf_counter() - started, 4)})
            if bar is not None:
                bar.update(1)
    finally:
        journal.close()
    return outcome
