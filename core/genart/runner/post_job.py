"""``genart post``: a --post chain over image files and folders, as a folder job that survives anything.

The engine (mirrored tree, journal, resume, bad files, ranks) is :mod:`genart.runner.folder`; this
module adds what a post chain needs around it: the chain built once, its memory checked for each new
image size before that image is processed, each output's recipe, 16-bit grey kept, progress as a bar,
plain lines or one JSON event per item, and one summary at the end.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GenartError, UsageError, explain
from . import folder


@dataclass(frozen=True)
class FilesRequest:
    """A job over image files and folders into the folder ``out`` (``genart post``'s options)."""

    images: tuple[str, ...]
    out: Path
    overwrite: bool = False
    fmt: str | None = None
    quiet: bool = False
    progress: str | None = None


@dataclass(frozen=True)
class PostRequest(FilesRequest):
    post: tuple[str, ...] = ()
    device: str = "auto"
    precision: str = "auto"


def files_job(request: FilesRequest, chain_key: str, process: Callable[[Path, Path], None], what: str = "post",
              after: Callable[[], Any] | None = None) -> folder.Outcome:
    """Plan, refuse foreign outputs, run with progress and summarise: what ``genart post`` does with its
    chain, for any ``process(source, target)`` (a plugin's command over folders uses it the same way).
    ``after()`` runs once the items are done, before failed items end the command with an error."""
    from ..images import is_image_path
    from ..loop.distributed import from_environment
    from ..records.console import echo
    from ..records.monitor import Events, default_progress

    world = from_environment()
    job = folder.plan([Path(p) for p in request.images], request.fmt, is_image_path, request.out)
    if not job.items:
        raise UsageError("no image files found in the given paths" + _left_out(job))
    if not request.overwrite:
        foreign = folder.foreign_outputs(job, request.out, chain_key, world.rank, world.size)
        if foreign:
            more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
            raise UsageError(f"{foreign[0]} already exists{more} and this chain did not write it "
                             "(use --overwrite to replace it, or another --out)")
    mode = request.progress or default_progress(request.quiet)
    events = Events(mode)
    reporter = _Reporter(events, mode, len(job.items[world.rank::world.size]), what)
    try:
        outcome = folder.run(job, request.out, process, chain_key=chain_key, overwrite=request.overwrite,
                             share=(world.rank, world.size), events=reporter.item, bar=reporter.bar)
    finally:
        reporter.close()
    done = outcome.written + outcome.adopted
    if done or outcome.skipped or not outcome.failed:  # when every file failed, the error says it all
        echo(f"wrote {done} image(s) to {request.out}"
             + (f" ({outcome.adopted} found written before a stop)" if outcome.adopted else "")
             + (f"; {outcome.skipped} already done (--overwrite redoes them)" if outcome.skipped else "")
             + _left_out(job))
    if after is not None:
        after()
    _raise_failures(outcome, done + outcome.skipped + len(outcome.failed))
    return outcome


def _left_out(job: folder.Plan) -> str:
    parts = [f"{job.junk} junk file(s)"] if job.junk else []
    parts += [f"{job.not_images} non-image file(s)"] if job.not_images else []
    return f"; skipped {' and '.join(parts)}" if parts else ""


def _raise_failures(outcome: folder.Outcome, total: int) -> None:
    """Every failed file on its own line, then one error with the first failure's exit code."""
    if not outcome.failed:
        return
    from ..records.console import echo

    first = explain(outcome.failed[0][1]) or outcome.failed[0][1]
    if len(outcome.failed) == total and total == 1:
        raise first
    for source, error in outcome.failed:
        echo(f"failed: {source}: {explain(error) or error}")
    failure = GenartError(f"{len(outcome.failed)} of {total} image(s) failed (listed above; the others are "
                          "written, and the same command retries only the failed ones)")
    failure.exit_code = getattr(first, "exit_code", 1)
    raise failure


class _Reporter:
    """A tqdm bar (with its ETA) in a terminal, a plain line every few seconds in a log, or one JSON
    ``item`` event per file."""

    def __init__(self, events: Any, mode: str, total: int, what: str) -> None:
        from ..records.console import progress

        self.events, self.mode, self.total, self.what = events, mode, total, what
        self.bar = progress(total=total, desc=what, unit="img", disable=mode != "bar")
        self.started = self.last = time.monotonic()

    def item(self, fields: dict[str, Any]) -> None:
        if self.mode == "json":
            self.events.emit("item", **fields)
            return
        now = time.monotonic()
        done = fields["index"] + 1
        if self.mode == "plain" and (now - self.last >= 10 or done == self.total):
            self.last = now
            left = (now - self.started) / done * (self.total - done)
            self.events.line(f"{self.what} {done}/{self.total}  eta {left:.0f} s")

    def close(self) -> None:
        self.bar.close()


def post_job(app: Any, request: PostRequest) -> folder.Outcome:
    """Build the chain, then run it over every image as a folder job (see :func:`files_job`)."""
    from ..images import load_image, save_image
    from ..loop.distributed import from_environment
    from ..loop.memory import ChainBudget
    from ..records.recipe import file_entry
    from ..records.reproduce import post_recipe
    from .context import make_context
    from .pipeline import apply_chain, build_chain, finish_chain
    from .streamed import save_streamed, streams_into

    if not request.post:
        raise UsageError("give at least one --post SPEC")
    context = make_context(app, request.device, request.precision)
    chain = build_chain(context, request.post)
    recipe = post_recipe(app, context, request.post)
    budget = ChainBudget(chain)

    def process(source: Path, target: Path) -> None:
        image = load_image(source)
        file_recipe = {**recipe, "input": file_entry(source)}
        if streams_into(chain, source, target):  # the last step's output is never held whole
            budget.check(tuple(image[None].shape), streamed=True)
            save_streamed(chain, image[None], context.device, target, file_recipe)
            return
        budget.check(tuple(image[None].shape))
        result = apply_chain(chain, image[None], context.device, batch_size=1)[0]
        if target.suffix.lower() != ".png" or not save_16_bit(source, result, target, file_recipe):
            save_image(result, target, overwrite=True, recipe=file_recipe)

    def finish() -> None:  # files a post-processor keeps beside the outputs (genart.WritesBeside)
        if from_environment().is_main:
            finish_chain(chain, request.out)

    return files_job(request, json.dumps(recipe["post"]), process, after=finish)


def save_16_bit(source: Path, result: Any, destination: Path, recipe: dict[str, Any]) -> bool:
    """Write a 16-bit grey PNG when the input was one, so post keeps its depth; False for other inputs.

    (Pillow reads colour PNGs with 16 bits per channel as 8-bit RGB, so only grey keeps 16 bits.)"""
    import io

    import numpy as np
    from PIL import Image

    from ..records.recipe import dumps, png_info
    from ..records.runs import write_bytes_atomic
    from .streamed import grey_16_bit

    if not grey_16_bit(source) or result.shape[0] != 1:
        return False
    array = result[0].detach().float().clamp(0, 1).mul(65535).round().cpu().numpy().astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", pnginfo=png_info(dumps(recipe)))
    write_bytes_atomic(destination, buffer.getvalue())
    return True
