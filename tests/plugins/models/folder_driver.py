"""A folder job as `genart post` will run it (used by the kill-and-rerun test in a subprocess)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from genart.api import App, apply_chain, build_chain
from genart.images import is_image_path, load_image, save_image
from genart.testing import build_context
from genart_models.folder_job import plan, run


def main() -> None:
    source, out, spec = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    chain = build_chain(build_context(App.from_entry_points(only=None)), [spec])

    def process(file: Path, target: Path) -> None:
        result = apply_chain(chain, load_image(file)[None], "cpu", batch_size=1)[0]
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        save_image(result, target, overwrite=True, recipe={"post": [spec], "input": {"sha256": digest}})

    def event(fields: dict[str, object]) -> None:
        print(json.dumps(fields), flush=True)

    outcome = run(plan([source], None, is_image_path), out, process, post=[spec], events=event)
    print(json.dumps({"event": "end", "written": outcome.written, "skipped": outcome.skipped,
                      "adopted": outcome.adopted, "failed": outcome.failed}), flush=True)
    sys.exit(1 if outcome.failed else 0)


if __name__ == "__main__":
    main()
