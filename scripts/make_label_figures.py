"""The per-class grid of docs/own-images.md: one row per class of a conditional run, its name written before
it, drawn as ``genart eval`` draws its per-class grid.

    python -m benchmarks.labels_bench train --conditional --data mnist --minutes 10 --out /tmp/labels
    python -m scripts.make_label_figures /tmp/labels/<run> --out docs/images/labels-mnist-classes.png

Only runs on data we may publish (MNIST, genart's own ``shapes``): a run whose data is a folder is refused
unless ``--publishable`` says its images may be shown (nothing made from the Pokémon art goes into the
repository).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a run folder of a model trained on labels")
    parser.add_argument("--out", type=Path, default=Path("docs/images/labels-mnist-classes.png"))
    parser.add_argument("--per-class", type=int, default=10, help="samples in each row")
    parser.add_argument("--guidance", type=float, default=None, help="guidance scale (default: the run's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--publishable", action="store_true",
                        help="the run's data is a folder of images that may be published")
    parser.add_argument("--overwrite", action="store_true", help="replace --out")
    args = parser.parse_args()

    import torch

    from genart import Guided
    from genart.api import App, load_run_model, sample_classes
    from genart.images import class_grid, save_image
    from genart_explore.class_eval import enlarged, trained_classes

    model, _, manifest = load_run_model(App.from_entry_points(only=None), args.run, "cpu")
    data = str(manifest.get("data", {}).get("name", ""))
    if data not in ("mnist", "shapes") and not args.publishable:
        raise SystemExit(f"error: the run trained on {data!r} data; only MNIST and shapes go into the docs "
                         "(--publishable if this folder may be published)")
    names = trained_classes(model, manifest)
    if names is None:
        raise SystemExit(f"error: {args.run} did not train on labels")
    if args.guidance is not None:
        if not isinstance(model, Guided):
            raise SystemExit("error: this model has no guidance scale")
        model.guidance = args.guidance
    asked = torch.arange(len(names)).repeat_interleave(args.per_class)
    drawn = sample_classes(model, asked, args.seed)
    rows = [drawn[asked == index] for index in range(len(names))]
    guidance = f"guidance {model.guidance:g}" if isinstance(model, Guided) else ""
    target = save_image(class_grid(enlarged(rows), names), args.out, overwrite=args.overwrite,
                        recipe={"what": "per-class grid", "run": args.run.name, "seed": args.seed,
                                "guidance": guidance})
    extra = f", {guidance}" if guidance else ""
    print(f"wrote {target} ({len(names)} classes x {args.per_class}, seed {args.seed}{extra})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
