"""Training and post-processing speed: genart's loop against a plain PyTorch loop, fp32 and bf16.

    python -m benchmarks.speed                 # full table (5 rounds: about 16 minutes on 2 cores)
    python -m benchmarks.speed --steps 25 --repeats 2    # quicker, noisier
    python -m benchmarks.speed --models vae --configs plain:fp32,genart:bf16 --skip-default-job   # one ratio

For each model (the default `vae` and `gan`, default batch sizes, on `shapes`):
- plain fp32: a bare loop `batch = data[idx].float() / 255; model.train_step(batch)` — what a user
  would write around the same network and step, with no framework;
- plain fp32+keepmem: the same bare loop with glibc's malloc told to keep freed memory
  (the setting genart's loop applies on CPUs, benchmarks.common.keep_freed_memory), so the table shows how much
  of genart's lead is that setting and how much is precision and layout;
- genart fp32 / bf16: genart.api.train (batch order, loss checks, checkpoint at the end) with
  --precision fp32 and bf16 (bf16 = autocast + channels_last, what `auto` picks on CPUs with
  native bf16; genart's fp32 is channels_last too on x86 CPUs, as genart.api.make_context picks);
- genart bf16 + compile: the same with --compile (torch.compile of the training step; the one-off
  compile time, spent in the warm-up steps, is reported in its own column).
Each configuration runs in its own process (clean peak memory), once per round, all configurations back to
back in each round; the table shows medians over the rounds, and the ratio to the plain fp32 loop is the
median of the per-round ratios (with their range), which cancels most of the machine's drift.
Achieved GFLOP/s = FLOPs of one train_step (torch.utils.flop_counter) x steps / time, shown against
a 2048x2048 matmul probe of the same machine and dtype.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, context, default_batch_size, epoch_batches, keep_freed_memory, train_config

MODELS = ["vae", "gan"]
CONFIGS = [("plain", "fp32"), ("plain", "fp32+keepmem"), ("genart", "fp32"), ("genart", "bf16"),
           ("genart", "bf16+compile")]


def matmul_probe(dtype_name: str, n: int = 2048, reps: int = 8) -> float:
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name.split("+")[0]]
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def one(model_spec: str, loop: str, precision: str, steps: int, warmup: int) -> dict:
    """Run one configuration in this process and return its figures."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from genart.api import build_model, load_data, train

    precision, _, option = precision.partition("+")
    ctx = context(precision)
    if loop == "plain":  # a bare loop keeps PyTorch's default layout, whatever genart would pick
        ctx = dataclasses.replace(ctx, channels_last=False)
    if option == "keepmem":  # the bare loop with the one process setting genart's loop adds (allocator.py)
        keep_freed_memory(ctx)
    torch.manual_seed(0)
    model = build_model(ctx, model_spec)
    batch_size = default_batch_size(model)
    channels, size, _ = model.image_shape
    data = load_data(ctx, "shapes:count=1024", size, channels)
    autocast = torch.autocast("cpu", dtype=ctx.precision, enabled=ctx.precision is not None)

    sample = data[:batch_size].float() / 255
    with autocast:  # the first step may run a lazy regulariser (R1's autograd.grad defeats the counter)
        model.train_step(sample)
    with FlopCounterMode(display=False) as counter, autocast:
        model.train_step(sample)
    flops_per_step = counter.get_total_flops()

    if loop == "plain":
        batches = epoch_batches(len(data), batch_size)
        for _ in range(warmup):
            model.train_step(data[next(batches)].float() / 255)
        start = time.perf_counter()
        for _ in range(steps):
            batch = data[next(batches)].float() / 255
            model.train_step(batch)
        seconds = time.perf_counter() - start
    else:
        import tempfile

        config = train_config(ctx, warmup, batch_size, compile=option == "compile")
        warm_start = time.perf_counter()
        train(model, data, config, device=ctx.device, checkpoint_path=None)
        warmup_s = time.perf_counter() - warm_start
        with tempfile.TemporaryDirectory() as folder:
            config.steps = warmup + steps
            start = time.perf_counter()
            train(model, data, config, device=ctx.device, checkpoint_path=Path(folder) / "c.safetensors",
                  start_step=warmup)
            seconds = time.perf_counter() - start
        # one-off cost of the warm-up beyond what its steps take at the measured rate (compilation)
        compile_s = max(0.0, warmup_s - warmup * seconds / steps) if option == "compile" else 0.0
    return {"images_per_s": steps * batch_size / seconds, "gflops": flops_per_step * steps / seconds / 1e9,
            "batch": batch_size, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "compile_s": compile_s if loop == "genart" else 0.0}


def post_throughput(spec: str, loop: str, size: int = 256, n: int = 8, repeats: int = 3) -> dict:
    """Input megapixels/s of genart's chain (``apply_chain``: batching, contract checks, clamping into
    one result tensor) or of the plain loop a user would write around the same post-processor (one
    image at a time under no_grad, outputs collected with torch.cat), best of ``repeats``; achieved
    GFLOP/s (convolutions and matrix products, torch.utils.flop_counter; 0 for classical filters) and
    the peak resident memory processing adds to the loaded post-processor and input images, in this
    (fresh) process."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from genart.api import apply_chain, build_chain

    ctx = context("fp32")
    chain = build_chain(ctx, [spec])
    processor = chain[0][1]
    images = torch.rand(n, 3, size, size)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    apply_chain(chain, images[:1], ctx.device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        processor(images[:1])
    flops = counter.get_total_flops() * n

    def run() -> None:
        if loop == "genart":
            apply_chain(chain, images, ctx.device)
        else:
            with torch.no_grad():
                torch.cat([processor(image[None]) for image in images])

    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return {"mp_s": n * size * size / best / 1e6, "gflops": flops / best / 1e9,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base_mb}


def in_child(*args: str) -> dict:
    """Run this script with ``args`` in a fresh process (its own peak memory, no state carried over) and
    return the figures it prints as JSON."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.speed", *args], check=True, capture_output=True,
                          text=True, cwd=REPO)
    return json.loads(done.stdout)


def default_job_seconds(precision: str, out: str) -> float:
    start = time.perf_counter()
    subprocess.run(["genart", "run", "--model", "vae", "--post", "restore", "--precision", precision, "-q",
                    "--out", out], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100, help="timed steps per run (the VAE does ~40 a second)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--repeats", type=int, default=5, help="rounds")
    parser.add_argument("--configs", default=",".join(f"{loop}:{precision}" for loop, precision in CONFIGS),
                        help="comma-separated loop:precision pairs to run (default: all)")
    parser.add_argument("--skip-default-job", action="store_true")
    parser.add_argument("--post-only", action="store_true", help="only the post-processing comparison")
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "LOOP", "PRECISION"), help=argparse.SUPPRESS)
    parser.add_argument("--one-post", nargs=2, metavar=("SPEC", "LOOP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, steps=args.steps, warmup=args.warmup)))
        return
    if args.one_post:
        print(json.dumps(post_throughput(*args.one_post)))
        return

    configs = [tuple(pair.split(":", 1)) for pair in args.configs.split(",")]
    if ("plain", "fp32") not in configs:
        parser.error("--configs must include plain:fp32, the baseline of every ratio")

    import torch

    probe = {p: matmul_probe(p) for p in ("fp32", "bf16")}
    print(f"machine: torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"matmul probe 2048^2: fp32 {probe['fp32']:.0f} GFLOP/s, bf16 {probe['bf16']:.0f} GFLOP/s")
    print(f"data: shapes (procedural, 1024 images), seed 0; model defaults; {args.repeats} rounds of "
          f"{args.steps} steps per configuration, each run in its own process\n")
    runs: dict[tuple[str, str, str], list[dict]] = {}
    for model in ([] if args.post_only else args.models.split(",")):
        for round_index in range(args.repeats):
            # every round runs all configurations back to back, alternating the order, so that the
            # machine's drift (up to 20 % within a minute here) hits them alike and cancels in the ratios
            for loop, precision in configs if round_index % 2 == 0 else configs[::-1]:
                result = in_child("--one", model, loop, precision, "--steps", str(args.steps),
                                  "--warmup", str(args.warmup))
                runs.setdefault((model, loop, precision), []).append(result)
    if runs:
        print_rows(runs, probe)
    post_section()
    if not args.skip_default_job and not args.post_only:
        default_job_section()


def print_rows(runs: dict, probe: dict) -> None:
    """Medians over the rounds; the ratio is the median of each round's ratio to that round's plain fp32
    run, with the lowest and highest round beside it."""
    print(f"{'model':<6} {'loop':<7} {'precision':<13} {'batch':>5} {'img/s':>8} {'GFLOP/s':>8} "
          f"{'% probe':>8} {'peak MB':>8} {'compile s':>9} {'vs plain fp32':>14} {'rounds':>12}")
    for (model, loop, precision), results in runs.items():
        base = runs[(model, "plain", "fp32")]
        ratios = [r["images_per_s"] / b["images_per_s"] for r, b in zip(results, base, strict=True)]
        rate = statistics.median(r["images_per_s"] for r in results)
        gflops = statistics.median(r["gflops"] for r in results)
        share = 100 * gflops / probe[precision.split("+")[0]]
        compile_s = statistics.median(r["compile_s"] for r in results)
        print(f"{model:<6} {loop:<7} {precision:<13} {results[0]['batch']:>5} {rate:>8.0f} {gflops:>8.1f} "
              f"{share:>7.1f}% {max(r['peak_mb'] for r in results):>8.0f} {compile_s:>9.1f} "
              f"{statistics.median(ratios):>13.2f}x {min(ratios):>5.2f}-{max(ratios):.2f}x")


def post_section(repeats: int = 3) -> None:
    print("\npost-processing (fp32, 8 images of 256x256, best of 3 runs in each of "
          f"{repeats} rounds, each loop in its own process): genart's chain vs a plain per-image loop")
    print(f"  {'post-processor':<34} {'genart MP/s':>11} {'plain MP/s':>10} {'ratio':>6} {'GFLOP/s':>8} "
          f"{'genart +MB':>10} {'plain +MB':>9}")
    for spec in ("restore", "restore:task=denoise", "upsample:scale=4", "upsample:scale=4,method=bicubic"):
        results: dict[str, list[dict]] = {"genart": [], "plain": []}
        try:
            for round_index in range(repeats):
                for loop in ("genart", "plain") if round_index % 2 == 0 else ("plain", "genart"):
                    results[loop].append(in_child("--one-post", spec, loop))
        except subprocess.CalledProcessError as error:  # a plugin may be missing in a partial install
            print(f"  {spec:<34} unavailable ({error.stderr.strip().splitlines()[-1:]})")
            continue
        ratio = statistics.median(g["mp_s"] / p["mp_s"]
                                  for g, p in zip(results["genart"], results["plain"], strict=True))
        mid = {(loop, key): statistics.median(r[key] for r in runs) for loop, runs in results.items()
               for key in ("mp_s", "gflops", "peak_mb")}
        gflops = f"{mid['genart', 'gflops']:>8.1f}" if mid["genart", "gflops"] else f"{'-':>8}"
        print(f"  {spec:<34} {mid['genart', 'mp_s']:>11.2f} {mid['plain', 'mp_s']:>10.2f} {ratio:>5.2f}x "
              f"{gflops} {mid['genart', 'peak_mb']:>10.0f} {mid['plain', 'peak_mb']:>9.0f}")


def default_job_section() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        fp32 = default_job_seconds("fp32", folder)
        auto = default_job_seconds("auto", folder)
    print(f"\ndefault job `genart run --model vae --post restore`: fp32 {fp32:.1f} s, auto {auto:.1f} s "
          f"({fp32 / auto:.2f}x)")


if __name__ == "__main__":
    main()
