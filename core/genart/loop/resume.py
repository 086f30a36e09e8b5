"""What ``--resume RUN`` may do to a run folder, decided before anything is built or written.

A run folder is the user's result. Resuming continues its training with the settings its manifest
records; anything that would silently change or destroy it is refused with one line instead:

- a different ``--model``/``--data``/``--seed``/``--batch-size``/``--post`` than the run was made with
  (the manifest wins, so the option would otherwise be ignored without a word);
- a run whose checkpoint is missing (resuming would quietly retrain from step 0);
- ``--steps`` at or below the steps already done, and a finished run without more ``--steps``
  (it would rewrite the run's samples, grid and manifest for nothing: ``genart sample RUN`` draws
  new samples into a folder of their own).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from ..contract.params import split_spec
from ..errors import UsageError
from ..records.runs import CHECKPOINT

#: the options a resumed run takes from its manifest and refuses to change
FIXED_OPTIONS = ("model", "data", "seed", "batch_size", "post")


def _same_spec(given: str, recorded: str | None) -> bool:
    if recorded is None:
        return False
    if given == recorded:
        return True
    a, b = split_spec(given), split_spec(recorded)
    return a.name == b.name and dict(a.options) == dict(b.options)


def check_resume(run_dir: Path, manifest: dict[str, Any], values: dict[str, Any], given: Collection[str],
                 steps: int | None) -> None:
    """Refuse a resume that would ignore an option, retrain from scratch or overwrite finished outputs.

    ``values`` are the option values, ``given`` the names the user set (command line or config file)."""
    recorded: dict[str, Any] = {
        "model": manifest.get("model", {}).get("spec"),
        "data": manifest.get("data", {}).get("spec"),
        "seed": manifest.get("seed"),
        "batch_size": manifest.get("train", {}).get("batch_size"),
        "post": tuple(manifest.get("post", ())),
    }
    for name in FIXED_OPTIONS:
        if name not in given:
            continue
        value = values.get(name)
        if name in ("model", "data"):
            same = _same_spec(str(value), recorded[name])
        elif name == "post":
            same = tuple(value or ()) == recorded[name] or not value
        else:
            same = value == recorded[name]
        if not same:
            option = "--" + name.replace("_", "-")
            raise UsageError(f"--resume {run_dir}: the run was made with {option} {_show(recorded[name])}; "
                             f"{option} {_show(value)} would be ignored (start a new run to change it)")
    done = int(manifest.get("train", {}).get("steps_done") or 0)
    if not (run_dir / CHECKPOINT).is_file():
        raise UsageError(f"--resume {run_dir}: no {CHECKPOINT} to continue from (the run stopped before its "
                         "first checkpoint); start it again as a new run")
    if steps is not None and steps <= done:
        raise UsageError(f"--resume {run_dir}: the run has done {done} steps; --steps {steps} must be more "
                         "than that to continue it")
    finished = manifest.get("status") in ("trained", "complete")
    target = int(manifest.get("train", {}).get("steps") or 0)
    if finished and (steps is None or steps <= target) and done >= target:
        raise UsageError(f"--resume {run_dir}: the run is finished ({done} steps) and its outputs are kept; "
                         f"give --steps N (more than {done}) to train it further, or draw new samples with "
                         f"genart sample {run_dir}")


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(value) if value else "(none)"
    return str(value)


def resume_history(previous: dict[str, Any], command: str, from_step: int) -> list[dict[str, Any]]:
    """The manifest's ``resumed`` list: every command that continued the run, and from which step."""
    history = list(previous.get("resumed", []))
    history.append({"command": command, "from_step": from_step, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return history
