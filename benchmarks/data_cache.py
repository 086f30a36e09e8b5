"""The folder dataset's decode cache: first load (decode into the cache), later loads (memory-map), and
decoding in memory without it (`cache=false`), each in a fresh process for its own time and memory.

    python -m benchmarks.data_cache                      # 2000 photos of 640x480, loaded at 128 px
    python -m benchmarks.data_cache --images 500 --size 64

It writes its own folder of JPEGs (smooth random colour fields with shapes, seed 0) into a temporary
folder, so it needs no data; the cache goes to a temporary GENART_CACHE_DIR too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO, context


def make_photos(folder: Path, count: int, width: int = 640, height: int = 480) -> None:
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        picture = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
        draw = ImageDraw.Draw(picture)
        for _ in range(3):
            x, y = int(rng.integers(0, width - 100)), int(rng.integers(0, height - 100))
            draw.ellipse((x, y, x + int(rng.integers(30, 200)), y + int(rng.integers(30, 200))),
                         fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        picture.save(folder / f"{index:05d}.jpg", quality=90)


def one(folder: str, size: int, cache: bool) -> dict:
    """Load the folder once in this process: seconds, and resident memory after the load and after reading
    every image once (what an epoch of training does)."""
    import resource

    from genart.api import load_data

    def rss_mb() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    ctx = context("fp32")
    before = rss_mb()
    start = time.perf_counter()
    images = load_data(ctx, f"folder:path={folder},cache={str(cache).lower()}", size, 3)
    seconds = time.perf_counter() - start
    loaded = rss_mb()
    checksum = int(images.sum(dtype=__import__("torch").int64))
    return {"seconds": seconds, "images": images.shape[0], "mb": images.numel() / 2**20,
            "rss_load_mb": loaded - before, "rss_epoch_mb": rss_mb() - before, "checksum": checksum,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--one", nargs=3, metavar=("FOLDER", "SIZE", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), args.one[2] == "true")))
        return
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "photos"
        start = time.perf_counter()
        make_photos(folder, args.images)
        print(f"{args.images} JPEGs of 640x480 written in {time.perf_counter() - start:.1f} s; loading at "
              f"{args.size} px, 3 channels, each load in a fresh process, cache in a temporary folder\n")
        env = {**os.environ, "GENART_CACHE_DIR": str(Path(work) / "cache")}
        print(f"{'load':<34} {'seconds':>8} {'data MB':>8} {'RSS after load':>15} {'after an epoch':>15}")
        results = {}
        for label, cache in (("cache=false (decode in memory)", "false"), ("first run (decode into cache)", "true"),
                             ("later run (map the cache)", "true"), ("later run again", "true")):
            done = subprocess.run([sys.executable, "-m", "benchmarks.data_cache", "--one", str(folder),
                                   str(args.size), cache], env=env, check=True, capture_output=True, text=True,
                                  cwd=REPO)
            result = results[label] = json.loads(done.stdout)
            print(f"{label:<34} {result['seconds']:>8.2f} {result['mb']:>8.1f} {result['rss_load_mb']:>12.0f} MB "
                  f"{result['rss_epoch_mb']:>12.0f} MB")
        if len({r["checksum"] for r in results.values()}) != 1:
            sys.exit("the loads disagree: the cache does not hold what decoding gives")
        later = results["later run (map the cache)"]["seconds"]
        print(f"\nlater runs load {results['cache=false (decode in memory)']['seconds'] / later:.0f}x faster than "
              "decoding; all loads gave the same pixels")


if __name__ == "__main__":
    main()
