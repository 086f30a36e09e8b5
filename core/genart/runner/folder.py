"""Folder jobs that survive anything: a tree of images in, the same tree out, resumable after a kill.

``genart post`` (and a plugin's command over a folder, through ``genart.api.folder_job``) hands this
engine its sources and a ``process(source, target)`` that makes and atomically writes one output.
Why it is built this way:

- the input tree is mirrored into ``out`` (same relative paths; ``fmt`` changes the suffix), so two
  ``x.png`` in different folders stay two files; of two inputs that would still meet (``x.png`` and
  ``x.jpg`` written as png) the one that changes suffix keeps its old one in the name (``x.jpg.png``);
- junk (hidden files, ``Thumbs.db``, ``desktop.ini``, ``__MACOSX``) and non-images are skipped and
  counted, and so is anything already inside ``out`` (``genart post photos --out photos/big``);
- a file that cannot be read or processed is reported at the end and the job goes on;
- every output is written atomically and *then* a line naming it is appended to a journal in ``out``
  (flushed at once, fsynced at most every second: an fsync per item would cost more than small items
  do). A rerun skips every journalled item whose source is unchanged (size and modification time) and
  whose output exists, so a kill, a reboot or a full disk loses at most the item in flight. An output
  that exists without its journal line (a kill between the two) is adopted when it is a PNG whose
  recipe names the same input SHA-256 and the same chain, so it is not written twice; the temporary
  file a kill left mid-write is deleted by the rerun;
- under torchrun each rank takes every ``world``-th item and keeps its own journal.
"""

from __future__ import annotations

import contextlib
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
    """What to make: (source, output path relative to ``out``) pairs, and what was left out."""

    items: list[tuple[Path, str]] = field(default_factory=list)
    junk: int = 0
    not_images: int = 0


def is_junk(path: Path) -> bool:
    return path.name.startswith(".") or path.name.lower() in JUNK_NAMES or any(p in JUNK_DIRS for p in path.parts)


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


def files_under(folder: Path, skip: Path | None = None) -> list[Path]:
    """Every file under ``folder``, sorted, from directory listings alone (no stat or path resolution
    per file: on a folder of 10,000 small images those cost more than a tenth of the work); a folder
    that is or resolves into ``skip`` (the job's output) is not entered, nor are links to folders."""
    if _inside(folder.resolve(), skip):
        return []
    found: list[Path] = []
    pending = [folder]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if not _inside(Path(entry.path).resolve(), skip):
                            pending.append(Path(entry.path))
                    elif entry.is_file():
                        found.append(Path(entry.path))
        except OSError:  # an unreadable folder is left out, as a glob leaves it out
            continue
    return sorted(found)


def existing_files(out: Path) -> set[str]:
    """The files under ``out`` as paths relative to it: one listing per folder instead of a stat per item."""
    if not out.is_dir():
        return set()
    return {path.relative_to(out).as_posix() for path in files_under(out)}


def plan(sources: Iterable[Path], fmt: str | None, is_image: Callable[[Path], bool], out: Path | None = None) -> Plan:
    """Each source file's output path, mirroring folders; junk, non-images and files under ``out`` counted."""
    result = Plan()
    sources = list(sources)
    skip = out.resolve() if out is not None else None
    for source in sources:
        if source.is_dir():  # one folder: its tree; several: each under its own name, as cp -r does
            top = Path(source.name) if len(sources) > 1 else Path()
            entries = [(p, top / p.relative_to(source)) for p in files_under(source, skip)]
        else:
            entries = [(source, Path(source.name))]
        for path, inner in entries:
            if is_junk(inner):
                result.junk += 1
            elif not is_image(path):
                result.not_images += 1
            else:
                result.items.append((path, inner.as_posix()))
    result.items = _unique_outputs(result.items, FORMATS[fmt] if fmt else None)
    return result


def _unique_outputs(items: list[tuple[Path, str]], suffix: str | None) -> list[tuple[Path, str]]:
    targets = []
    taken: dict[str, int] = {}
    for _path, name in items:
        own = Path(name).suffix.lower()
        target = Path(name).with_suffix(suffix or (own if own in WRITABLE else ".png")).as_posix()
        taken[target] = taken.get(target, 0) + 1
        targets.append(target)
    used: set[str] = set()
    unique = []
    for (path, name), target in zip(items, targets, strict=True):
        # x.png and x.jpg both becoming x.png: x.png keeps its name, x.jpg becomes x.jpg.png
        chosen = name + (suffix or ".png") if taken[target] > 1 and name != target else target
        stem, dot, ext = chosen.rpartition(".")
        number = 2
        while chosen in used:  # still taken (two files given by the same name): number them
            chosen = f"{stem}-{number}{dot}{ext}"
            number += 1
        used.add(chosen)
        unique.append((path, chosen))
    return unique


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

    def made(self, output: str) -> bool:
        """Whether this chain wrote ``output`` here (from a source that has changed since, or the same):
        the same command may replace it; another chain's outputs are the user's to give up."""
        entry = self.done.get(output)
        return entry is not None and entry.get("chain") == self.chain_key

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
            self.handle = None


def adoptable(target: Path, source: Path, chain_key: str) -> bool:
    """A PNG already written for this source by this chain (the kill came between write and journal)."""
    if target.suffix.lower() != ".png" or not target.is_file():
        return False
    from PIL import Image

    from ..records.recipe import sha256_file

    try:
        with Image.open(target) as image:
            recipe = json.loads(getattr(image, "text", {}).get("genart", "{}"))
    except Exception:  # not a readable PNG: it will be made again
        return False
    if not isinstance(recipe, dict) or chain_key not in (recipe.get("job"), json.dumps(recipe.get("post"))):
        return False  # a job names itself in its recipes with "job" (genart post: its "post" chain)
    entry = recipe.get("input") or recipe.get("content") or {}
    return isinstance(entry, dict) and entry.get("sha256") == sha256_file(source)


@dataclass
class Outcome:
    written: int = 0
    skipped: int = 0
    adopted: int = 0
    failed: list[tuple[Path, BaseException]] = field(default_factory=list)


def foreign_outputs(job: Plan, out: Path, chain_key: str, rank: int = 0, world: int = 1) -> list[Path]:
    """Existing files the job would replace that this chain did not make here (the user's, or another
    chain's results): never replaced without ``--overwrite``."""
    journal = Journal(out, rank, chain_key)
    present = existing_files(out)
    return [out / output for source, output in job.items[rank::world]
            if output in present and not journal.made(output) and not adoptable(out / output, source, chain_key)]


def remove_stale_temps(out: Path, outputs: list[str], present: set[str]) -> None:
    """Delete the temporary files a killed run left beside outputs this process owns (``present``: the
    files under ``out``). Only temporaries of this process's own outputs go, so a torchrun rank never
    touches another rank's file being written at this moment."""
    from ..records.runs import temp_target

    mine = set(outputs)
    for name in present:
        folder, _, base = name.rpartition("/")
        target = temp_target(base)
        if target is not None and (f"{folder}/{target}" if folder else target) in mine:
            with contextlib.suppress(FileNotFoundError):
                (out / name).unlink()


def _fatal(error: BaseException) -> bool:
    """An error after which no later item can succeed (a full disk): stop, keep what is done."""
    from ..errors import DiskFullError, explain

    return isinstance(explain(error) or error, DiskFullError)


def run(job: Plan, out: Path, process: Callable[[Path, Path], None], *, chain_key: str, overwrite: bool = False,
        share: tuple[int, int] = (0, 1), events: Callable[[dict[str, Any]], None] | None = None,
        bar: Any = None) -> Outcome:
    """``process(source, target)`` makes and atomically writes one output; everything else is here.
    ``share`` is (rank, world size): this process does every world-th item."""
    rank, world = share
    journal = Journal(out, rank, chain_key)
    outcome = Outcome()
    mine = job.items[rank::world]
    present = existing_files(out)
    remove_stale_temps(out, [output for _, output in mine], present)
    try:
        for index, (source, output) in enumerate(mine):
            target = out / output
            started = time.perf_counter()
            status = "written"
            if not overwrite and journal.finished(source, output):
                status = "skipped"
                outcome.skipped += 1
            elif not overwrite and output in present and adoptable(target, source, chain_key):
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
                    if _fatal(error):
                        raise
                    status = "failed"
                    outcome.failed.append((source, error))
            if events is not None:
                events({"index": index, "total": len(mine), "source": str(source), "output": str(target),
                        "status": status, "seconds": round(time.perf_counter() - started, 4)})
            if bar is not None:
                bar.update(1)
    finally:
        journal.close()
    return outcome
