"""Label accuracy of a class-conditional MNIST run: does a sample asked to be digit k look like a k?

Loads a run folder (``genart run --model gan --data mnist --minutes 10``, or any conditional model trained on
MNIST's digit labels), draws ``--per-class`` samples of every digit with ``genart.api.sample_classes`` (as
``genart sample --label`` does, seed ``--seed``) and judges them with the independent classifier of
benchmarks/mnist_eval.py: the share classified as the digit asked for, per digit and overall (the classifier
is right on 97-98 % of real held-out digits, so that is the ceiling), beside its FD and IS of all the samples.
``--grid PATH`` also writes one row per digit (the first ten samples of each), MNIST being ours to show.

  flock /tmp/genart-heavy.lock python -m benchmarks.gan_labels runs/<run> --grid /tmp/gan-labels.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.common import add_data_root, app
from benchmarks.mnist_eval import Evaluator, to_28


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a run folder of a conditional model trained on MNIST's labels")
    parser.add_argument("--per-class", type=int, default=500, help="samples asked for each digit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--grid", type=Path, default=None, help="also write a 10x10 grid, one row per digit")
    add_data_root(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from genart.api import load_run_model, sample_classes

    model, _, manifest = load_run_model(app(), args.run, "cpu")
    names = list(getattr(model, "class_names", []) or [])
    if names != [str(k) for k in range(10)]:
        raise SystemExit(f"gan_labels: {args.run} was not trained on MNIST's ten digit labels (classes {names})")
    asked = torch.arange(10).repeat_interleave(args.per_class)
    samples = sample_classes(model, asked, args.seed)
    evaluator = Evaluator.load()
    with torch.no_grad():
        logits = torch.cat([evaluator.model(chunk)[1] for chunk in to_28(samples).split(500)])
    right = logits.argmax(1) == asked
    per_class = [float(right[asked == k].float().mean()) for k in range(10)]
    scores = evaluator.score(samples)
    print(f"run {args.run} ({manifest['model']['spec']}; {manifest.get('train', {}).get('steps_done', '?')} steps), "
          f"{args.per_class} samples per digit, seed {args.seed}")
    print("label accuracy per digit: " + "  ".join(f"{k}: {a:.3f}" for k, a in enumerate(per_class)))
    print(f"label accuracy overall {float(right.float().mean()):.3f}, worst digit {min(per_class):.3f} "
          f"(classifier on real held-out digits: {evaluator.accuracy:.3f}); FD {scores['fd']:.1f}, "
          f"IS {scores['is']:.2f}")
    if args.grid:
        from genart.images import make_grid, save_image

        rows = torch.cat([samples[asked == k][:10] for k in range(10)])
        save_image(make_grid(rows, nrow=10), args.grid, overwrite=True)
        print(f"grid: {args.grid}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
