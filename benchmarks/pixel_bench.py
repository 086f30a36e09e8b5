"""pixelize + palette speed: 1000 sprites of 64 px through ``pixelize,palette`` (target: under 10 s on the CPU).

Run by hand, under the shared lock on the 2-core machine:
    flock /tmp/genart-heavy.lock python -m benchmarks.pixel_bench
The sprites are the first 1000 images of the embedded ``shapes`` dataset at 64 px with a little noise added
(seed 0), so they have flat areas with model-like grain; no files are needed. It times the chain as
``genart sample``/``genart post`` run it (genart.api.apply_chain, batches of 16), best of ``--repeats``,
for each chain in ``--chains``, and checks every output holds at most the palette's colours. It also prints
the process's CPU time (all threads), which says more than wall time when the machine is shared.
"""

from __future__ import annotations

import argparse
import time

CHAINS = ("pixelize:size=16|palette:colors=gameboy",
          "pixelize:size=16|palette:n=8",
          "pixelize:size=32,method=mode,outline=#000000|palette:colors=pico8")


def sprites(count: int, seed: int) -> object:
    import torch

    from genart.api import App, load_data, make_context

    context = make_context(App.from_entry_points(only=None), "cpu", "fp32")
    images = load_data(context, f"shapes:count={count}", 64, 3).float() / 255
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed)) * 0.03
    return (images + noise).clamp(0, 1)


def distinct_colours(image: object) -> int:
    import torch

    rgb8 = torch.round(image[:3] * 255).to(torch.int64).reshape(3, -1)  # type: ignore[index]
    return int(torch.unique(rgb8[0] * 65536 + rgb8[1] * 256 + rgb8[2]).numel())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chains", nargs="*", default=list(CHAINS), help="post specs joined with |")
    args = parser.parse_args()

    import torch

    from genart.api import App, apply_chain, build_chain, make_context

    images = sprites(args.count, args.seed)
    context = make_context(App.from_entry_points(only=None), "cpu", "fp32")
    print(f"{args.count} sprites {tuple(images.shape[1:])}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    for text in args.chains:
        specs = text.split("|")
        best = cpu = float("inf")
        for _ in range(args.repeats):
            chain = build_chain(context, specs)  # a fresh chain each time: the lock is chosen again
            started, cpu_started = time.perf_counter(), time.process_time()
            out = apply_chain(chain, images, context.device)
            best = min(best, time.perf_counter() - started)
            cpu = min(cpu, time.process_time() - cpu_started)  # what the process used, on a shared machine
        most = max(distinct_colours(image) for image in out)
        print(f"{' -> '.join(specs)}: best of {args.repeats}: {best:.2f} s for {args.count} "
              f"({best / args.count * 1000:.2f} ms each; CPU time {cpu:.2f} s on all threads); "
              f"most colours in one image: {most}"
              + (f"; target < 10 s: {'met' if best < 10 else 'NOT met'}" if args.count == 1000 else ""))


if __name__ == "__main__":
    main()
