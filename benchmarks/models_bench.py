"""x4 RRDBNet (random weights): genart's model post-processor vs spandrel called directly vs a
Real-ESRGAN-style tile loop (tile 400, pad 10), in seconds per output megapixel and peak memory.

Each (method, size) runs in its own process, so ``ru_maxrss`` is that method's peak alone; the
figure reported is the peak above the process's resident memory once the model and the input are
loaded. Whole-image spandrel is skipped where its activations cannot fit (estimated from the
measured 512 px peak, memory growing with pixels). Full RRDBNet (23 blocks) at 2048 px x4 is far
beyond a 2-core CPU's budget (hours per method); ``--blocks`` makes a shallower RRDBNet (same
layers, fewer residual blocks) for the sizes given, and the tile geometry's pixel counts let the
ratios be carried over honestly (printed as ``work``: input pixels each method runs the network on,
relative to the image's own).

    flock /tmp/genart-heavy.lock python benchmarks/models_bench.py --sizes 512 --blocks 4
    flock /tmp/genart-heavy.lock python benchmarks/models_bench.py --sizes 1024,2048 --blocks 1 --to-file
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

METHODS = ("genart", "spandrel", "realesrgan")


def rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def realesrgan_tiles(model: Any, image: Any, scale: int, tile: int = 400, pad: int = 10) -> Any:
    """RealESRGANer.tile_process (inference_realesrgan.py), reduced to what it computes."""
    import torch

    batch, channel, height, width = image.shape
    output = image.new_zeros((batch, channel, height * scale, width * scale))
    for y in range(math.ceil(height / tile)):
        for x in range(math.ceil(width / tile)):
            x0, y0 = x * tile, y * tile
            x1, y1 = min(x0 + tile, width), min(y0 + tile, height)
            px0, px1, py0, py1 = max(x0 - pad, 0), min(x1 + pad, width), max(y0 - pad, 0), min(y1 + pad, height)
            with torch.no_grad():
                out = model(image[:, :, py0:py1, px0:px1])
            ox0, oy0 = (x0 - px0) * scale, (y0 - py0) * scale
            output[:, :, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = out[
                :, :, oy0:oy0 + (y1 - y0) * scale, ox0:ox0 + (x1 - x0) * scale]
    return output


def work(method: str, size: int) -> float:
    """Input pixels the network runs on, relative to the image's (tiling overhead), for a square image."""
    def pixels(tile: int, pad: int) -> int:
        total = 0
        for start in range(0, size, tile):
            stop = min(size, start + tile)
            span = min(size, stop + pad) - max(0, start - pad)
            total += span
        return total
    if method == "genart":
        return (pixels(384, 16) / size) ** 2 if size > 384 else 1.0
    if method == "realesrgan":
        return (pixels(400, 10) / size) ** 2
    return 1.0


def one(method: str, size: int, blocks: int, to_file: bool = False) -> dict[str, Any]:
    import torch
    from safetensors.torch import save_file

    from genart.api import App
    from genart.images import load_image, save_image
    from genart.testing import build_context, make_tiny_images
    from genart_models.compat import import_spandrel

    spandrel = import_spandrel()
    from spandrel.architectures.ESRGAN import ESRGAN
    torch.manual_seed(0)
    path = Path(f"/tmp/genart-models-bench-rrdb{blocks}.safetensors")
    if not path.exists():
        save_file({k: v.contiguous() for k, v in ESRGAN(num_blocks=blocks, scale=4).state_dict().items()}, str(path))
    image = make_tiny_images(1, 3, size, seed=0)
    spec = f"model:file={path}"
    if method == "genart":
        run = build_context(App.from_entry_points(only=None)).build("post", spec)
    else:
        descriptor = spandrel.ModelLoader().load_from_file(str(path)).eval()
        run = descriptor if method == "spandrel" else (lambda x: realesrgan_tiles(descriptor, x, 4))
    base = rss_mib()
    start = time.perf_counter()
    target = Path(f"/tmp/genart-models-bench-{method}.png")
    if to_file and method == "genart":  # what genart post does: the bands into the PNG as they come
        from genart.api import save_streamed

        save_streamed([(spec, run)], image, torch.device("cpu"), target, {"post": [spec]})
    else:
        with torch.inference_mode():
            out = run(image)
        if to_file:  # the whole result through Pillow, as a script that saves its output does
            save_image(out[0], target, overwrite=True, recipe={"post": [spec]})
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if to_file:  # the checksum of what was written, the same way for every method (after the peak is read)
        out = load_image(target)[None]
    return {"method": method, "size": size, "blocks": blocks, "seconds": round(seconds, 2),
            "s_per_output_mp": round(seconds / (out.shape[-1] * out.shape[-2] / 1e6), 3),
            "peak_above_base_mib": round(peak - base), "work": round(work(method, size), 3),
            "checksum": round(float(out.double().mean()), 6), "to_file": to_file}


def whole_image_bytes(size: int) -> float:
    """RRDBNet's last layers on the whole image: about three 64-channel float32 maps at the output size."""
    return 3 * 64 * (4 * size) ** 2 * 4


def available_bytes() -> float:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return float("inf")


def folder_overhead(count: int, rounds: int) -> dict[str, Any]:
    """genart's folder job (``genart.api.files_job``, what ``genart post`` runs) vs a plain loop over the same
    small files (load, bicubic x2, atomic PNG save),
    in alternating rounds so machine drift hits both alike."""
    import shutil
    import tempfile

    import numpy as np
    import torch
    from PIL import Image

    from genart.api import App, FilesRequest, apply_chain, build_chain, files_job
    from genart.images import load_image, save_image
    from genart.testing import build_context

    torch.set_num_threads(1)  # 16 px images need no threads, and idle threads spinning would blur the CPU times
    root = Path(tempfile.mkdtemp(prefix="genart-folder-bench-"))
    try:
        rng = np.random.default_rng(0)
        for i in range(count):
            folder = root / "in" / f"d{i % 50:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(folder / f"{i:05d}.png")
        spec = "upsample:scale=2,method=bicubic"
        chain = build_chain(build_context(App.from_entry_points(only=None)), [spec])

        inside = [0.0]  # seconds spent in process() by the current run: the rest is the loop's own bookkeeping

        def process(source: Path, target: Path) -> None:
            started = time.perf_counter()
            result = apply_chain(chain, load_image(source)[None], "cpu", batch_size=1)[0]
            save_image(result, target, overwrite=True, recipe={"post": [spec]})
            inside[0] += time.perf_counter() - started

        def plain(out: Path) -> None:
            for source in sorted((root / "in").rglob("*.png")):
                target = out / source.relative_to(root / "in")
                target.parent.mkdir(parents=True, exist_ok=True)
                process(source, target)

        def job(out: Path) -> None:
            files_job(FilesRequest(images=(str(root / "in"),), out=out, quiet=True), json.dumps([spec]), process)

        times: dict[str, list[float]] = {"plain": [], "genart": [], "rerun": []}
        cpu: dict[str, list[float]] = {"plain": [], "genart": []}
        outside: dict[str, list[float]] = {"plain": [], "genart": []}
        for index in range(rounds):
            order = (("plain", plain), ("genart", job))
            for name, fn in order if index % 2 == 0 else order[::-1]:
                out = root / f"{name}{index}"
                os.sync()  # the previous round's writes flushed first: each timing starts from the same disk state
                inside[0] = 0.0
                start, start_cpu = time.perf_counter(), time.process_time()
                fn(out)
                times[name].append(time.perf_counter() - start)
                outside[name].append(times[name][-1] - inside[0])
                cpu[name].append(time.process_time() - start_cpu)  # what the job adds, without the disk's waits
                if name == "genart":  # everything finished: a rerun only reads the journal and stats the files
                    start = time.perf_counter()
                    job(out)
                    times["rerun"].append(time.perf_counter() - start)
                shutil.rmtree(out)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    plain_best, genart_best = min(times["plain"]), min(times["genart"])
    return {"files": count, "plain_s": [round(t, 2) for t in times["plain"]],
            "genart_s": [round(t, 2) for t in times["genart"]],
            "overhead_best_pct": round(100 * (genart_best / plain_best - 1), 1),
            "overhead_median_pct": round(100 * (statistics.median(times["genart"])
                                                / statistics.median(times["plain"]) - 1), 1),
            "plain_cpu_s": [round(t, 2) for t in cpu["plain"]], "genart_cpu_s": [round(t, 2) for t in cpu["genart"]],
            "cpu_overhead_median_pct": round(100 * (statistics.median(cpu["genart"])
                                                    / statistics.median(cpu["plain"]) - 1), 1),
            "outside_process_s": {name: [round(t, 2) for t in values] for name, values in outside.items()},
            # the job's own cost (listing, journal, checks, events) as a share of the plain loop's run, from the
            # medians of time spent outside process(): free of the noise of the work itself
            "bookkeeping_pct": round(100 * (statistics.median(outside["genart"]) - statistics.median(outside["plain"]))
                                     / statistics.median(times["plain"]), 1),
            "rerun_s": [round(t, 2) for t in times["rerun"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512", help="input sizes, comma-separated (e.g. 512,2048)")
    parser.add_argument("--blocks", type=int, default=23, help="RRDB blocks (23 = the full ESRGAN/Real-ESRGAN x4)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--folder", type=int, default=0, help="only the folder-job overhead, on this many files")
    parser.add_argument("--rounds", type=int, default=2, help="folder: alternating rounds of plain loop and job")
    parser.add_argument("--to-file", action="store_true",
                        help="each method also writes its result as a PNG, inside the time and memory measured "
                             "(genart through genart.api.save_streamed, band by band; the others whole, by Pillow)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.folder:
        print(json.dumps(folder_overhead(args.folder, args.rounds)))
        return
    if args.one:
        print(json.dumps(one(args.one, int(args.sizes), args.blocks, args.to_file)))
        return
    for size in [int(s) for s in args.sizes.split(",")]:
        for method in args.methods.split(","):
            if method == "spandrel" and whole_image_bytes(size) > available_bytes() / 2:
                print(json.dumps({"method": method, "size": size, "blocks": args.blocks, "skipped":
                                  f"whole image needs about {whole_image_bytes(size) / 2**30:.0f} GiB"}), flush=True)
                continue
            done = subprocess.run([sys.executable, __file__, "--one", method, "--sizes", str(size),
                                   "--blocks", str(args.blocks)] + (["--to-file"] if args.to_file else []),
                                  capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            print(lines[-1] if lines else json.dumps({"method": method, "size": size, "failed": done.returncode,
                                                        "error": done.stderr.strip().splitlines()[-1:]}), flush=True)


if __name__ == "__main__":
    main()
