"""GPU readiness in one script (at most about 5 minutes on one card): does genart's CUDA path work and how fast is it?

    python -m benchmarks.cuda_check            # everything below
    python -m benchmarks.cuda_check --quick    # fewer steps (a smoke test, about 1 minute)

On a machine without CUDA it prints one line and exits 0. With CUDA it checks, printing one line each:

1. device selection: ``--device auto`` resolves to CUDA, and ``auto`` precision is bf16 where the card has it;
2. numerics: a short ``genart train`` of the GAN, the VAE and the learned post-processors' trainers
   (restorer-trainer, sr-trainer) in bf16 autocast and in fp16 with genart's loss scaler: every loss
   finite, the checkpoint written, samples saved and free of NaN (the GAN and VAE through ``genart run``);
3. speed: images/s of the GAN and VAE training steps at batch 64 and 256 (bf16), their achieved TFLOP/s
   (FLOPs of one step from torch.utils.flop_counter) against a bf16 matmul probe of the same card, and the
   peak GPU memory of each;
4. ``torchrun --nproc_per_node=N`` (N = the GPUs present) of a short VAE run, exit status and time;
5. tiled inference: the learned restore (denoise) and upsample (x2) of a 4096 px image on the GPU,
   time, peak memory, output finite and of the right size.

A failing check prints ``FAIL`` with the reason and the script exits 1 after running the others.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import context, train_config

RESULTS: list[tuple[str, bool, str]] = []


def report(name: str, ok: bool, detail: str) -> None:
    RESULTS.append((name, ok, detail))
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)


def check(name: str, func: Callable[[], str]) -> None:
    try:
        report(name, True, func())
    except Exception as error:  # one failed check must not hide the others
        detail = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        report(name, False, detail[:300])
        if os.environ.get("GENART_DEBUG"):
            traceback.print_exc()


def genart(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> str:
    """Run the genart CLI in a child process (clean CUDA state, the user's code path)."""
    done = subprocess.run([sys.executable, "-m", "genart.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise RuntimeError(f"exit {done.returncode}: {lines[-1] if lines else ''}")
    return done.stderr + done.stdout


def device_selection() -> str:
    import torch

    ctx = context("auto", device="auto")
    device, precision = ctx.device, ctx.precision
    if device.type != "cuda":
        raise RuntimeError(f"auto picked {device}")
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision != expected:
        raise RuntimeError(f"auto precision {precision}, expected {expected}")
    return f"auto -> {torch.cuda.get_device_name(device)}, precision {str(precision).replace('torch.', '')}"


def patch_folder(root: Path) -> Path:
    """A few synthetic photos-like images for the post-processors' trainers (no data download)."""
    from genart.images import save_image
    from genart.testing import make_tiny_images

    folder = root / "patch-images"
    folder.mkdir(exist_ok=True)
    for index, image in enumerate(make_tiny_images(n=6, channels=3, size=96, seed=3)):
        save_image(image, folder / f"{index}.png", overwrite=True)
    return folder


def numerics(root: Path, model: str, data: str, precision: str, steps: int, sample: bool) -> str:
    out = root / f"{model.split(':')[0]}-{precision}"
    shutil.rmtree(out, ignore_errors=True)
    command = "run" if sample else "train"
    extra = ["-n", "16"] if sample else []
    genart(command, "--model", model, "--data", data, "--steps", str(steps), "--precision", precision,
           "--device", "auto", "--out", str(out), "-q", *extra)
    (run,) = out.iterdir()
    manifest = json.loads((run / "manifest.json").read_text())
    losses = manifest.get("losses", {})
    bad = {k: v for k, v in losses.items() if not math.isfinite(float(v))}
    if bad or not losses:
        raise RuntimeError(f"losses not finite: {bad or 'none recorded'}")
    if not (run / "checkpoint.safetensors").is_file():
        raise RuntimeError("no checkpoint written")
    detail = f"{steps} steps, losses " + ", ".join(f"{k}={float(v):.4g}" for k, v in losses.items())
    if sample:
        import numpy as np
        from PIL import Image

        files = sorted((run / "samples").glob("*.png"))
        if len(files) != 16:
            raise RuntimeError(f"{len(files)} samples saved, expected 16")
        arrays = [np.asarray(Image.open(file)) for file in files]
        if any(a.std() == 0 for a in arrays):
            raise RuntimeError("a sample is a flat image")
        detail += f", {len(files)} samples saved"
    return detail


def matmul_probe(n: int = 8192, reps: int = 20) -> float:
    """bf16 matmul TFLOP/s of this card: the peak the training steps are compared against."""
    import torch

    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e12


def step_speed(model_spec: str, batch: int, steps: int, probe: float) -> str:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from genart.api import build_model, load_data, train

    ctx = context("bf16", device="cuda")
    torch.manual_seed(0)
    model = build_model(ctx, model_spec)
    channels, size, _ = model.image_shape
    data = load_data(ctx, "shapes:count=2048", size, channels)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16)
    sample = (data[:batch].to("cuda").float() / 255).contiguous(memory_format=torch.channels_last)
    with autocast:  # a lazy regulariser may run on the first step
        model.train_step(sample)
    with FlopCounterMode(display=False) as counter, autocast:
        model.train_step(sample)
    flops = counter.get_total_flops()
    config = train_config(ctx, 10, batch)
    train(model, data, config, device=ctx.device, checkpoint_path=None)  # warm-up
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    config.steps = 10 + steps
    start = time.perf_counter()
    train(model, data, config, device=ctx.device, checkpoint_path=None, start_step=10)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    achieved = flops * steps / seconds / 1e12
    peak = torch.cuda.max_memory_allocated() / 2**30
    del model, data
    torch.cuda.empty_cache()
    return (f"{steps * batch / seconds:,.0f} img/s, {achieved:.2f} TFLOP/s = {100 * achieved / probe:.1f}% of the "
            f"{probe:.0f} TFLOP/s bf16 matmul probe, peak {peak:.2f} GiB")


def torchrun(root: Path, steps: int) -> str:
    import torch

    count = torch.cuda.device_count()
    runner = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    out = root / "torchrun"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run([runner, "--standalone", f"--nproc_per_node={count}", "-m", "genart.cli", "train",
                           "--model", "vae", "--data", "shapes:count=1024", "--steps", str(steps),
                           "--batch-size", str(64 * count), "--out", str(out), "-q"],
                          capture_output=True, text=True, timeout=240)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise RuntimeError(f"exit {done.returncode}: {lines[-1] if lines else ''}")
    (run,) = out.iterdir()
    manifest = json.loads((run / "manifest.json").read_text())
    return (f"{count} process(es), world_size {manifest.get('world_size')}, {steps} steps in {seconds:.1f} s "
            f"(start-up included), {manifest['train'].get('images_per_second')} img/s")


def tiled(spec: str, size: int, scale: int) -> str:
    import torch

    from genart.api import apply_chain, build_chain

    ctx = context("auto", device="cuda")
    chain = build_chain(ctx, [spec])
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, size, size, generator=generator)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    out = apply_chain(chain, image, ctx.device, batch_size=1)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if tuple(out.shape[-2:]) != (size * scale, size * scale):
        raise RuntimeError(f"output {tuple(out.shape)}, expected {size * scale} px")
    if not torch.isfinite(out).all():
        raise RuntimeError("output has NaN or infinite values")
    return (f"{size} px -> {out.shape[-1]} px in {seconds:.1f} s, peak {torch.cuda.max_memory_allocated() / 2**30:.2f}"
            " GiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps: a smoke test")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("cuda_check: no CUDA device here (torch.cuda.is_available() is False); nothing to check")
        return 0
    steps = 20 if args.quick else 100
    started = time.perf_counter()
    print(f"cuda_check: torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s): "
          f"{torch.cuda.get_device_name(0)}", flush=True)
    check("device selection", device_selection)
    root = Path(tempfile.mkdtemp(prefix="genart-cuda-check-"))
    try:
        patches = f"patches:path={patch_folder(root)},count=512"
        jobs = [("gan", "shapes:count=1024", True), ("vae", "shapes:count=1024", True),
                ("restorer-trainer:patch=64", patches, False), ("sr-trainer:patch=72", patches, False)]
        for precision in ("bf16", "fp16"):
            for model, data, sample in jobs:
                check(f"{precision} {model.split(':')[0]}",
                      lambda m=model, d=data, s=sample, p=precision: numerics(root, m, d, p, steps, s))
        probe = matmul_probe()
        print(f"     bf16 matmul probe (8192^2): {probe:.0f} TFLOP/s", flush=True)
        for model in ("gan", "vae"):
            for batch in (64, 256):
                check(f"speed {model} batch {batch}",
                      lambda m=model, b=batch: step_speed(m, b, 30 if args.quick else 100, probe))
        check("torchrun", lambda: torchrun(root, steps))
        check("tiled restore", lambda: tiled("restore:task=denoise,ensemble=1", 4096, 1))
        check("tiled upsample", lambda: tiled("upsample:scale=2,method=learned,ensemble=1", 4096, 2))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    failed = [name for name, ok, _ in RESULTS if not ok]
    seconds = time.perf_counter() - started
    print(f"cuda_check: {len(RESULTS) - len(failed)}/{len(RESULTS)} checks passed in {seconds:.0f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
