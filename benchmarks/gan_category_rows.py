"""One row of samples per category of a trained ``gan`` run with ``categories=K`` (the docs' pictures).

    genart run --model gan:categories=8 --data shapes --out /tmp/gan-shapes-cat --seed 0 -n 64
    python -m benchmarks.gan_category_rows /tmp/gan-shapes-cat/<run> docs/images/gan-shapes-categories.png

Each row draws z's first entry inside one category's bin (see ``by_category`` in benchmarks/common.py), so a row
shows what that category stands for; the rest of z varies along the row.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.common import app, by_category


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a run folder of a gan trained with categories=K")
    parser.add_argument("out", type=Path, help="PNG to write (an existing file is replaced only with --overwrite)")
    parser.add_argument("--per-row", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()

    import torch

    from genart.api import load_run_model
    from genart.errors import GenartError
    from genart.images import make_grid, save_image

    try:
        model, _, _ = load_run_model(app(), args.run, "cpu")
        if not getattr(getattr(model, "params", None), "categories", 0):
            raise GenartError(f"{args.run}: not a gan trained with categories=K")
        rows = by_category(model, args.per_row, args.seed)
        save_image(make_grid(torch.cat(rows), nrow=args.per_row), args.out, overwrite=args.overwrite)
    except GenartError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {len(rows)} categories x {args.per_row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
