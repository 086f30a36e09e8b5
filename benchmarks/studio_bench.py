"""genart studio: how long the runs page takes with many runs, and how soon a job's event reaches the page.

    flock /tmp/genart-heavy.lock python -m benchmarks.studio_bench [--runs 500] [--events 40]

1. Runs page: RUNS fake run folders (a manifest.json like genart writes, a small grid.png each) in a
   temporary folder; ``GET /`` through the ASGI app in-process (server time: routing, reading the
   manifests, rendering; no network). The first request reads every manifest; later ones reuse the
   cards whose manifest did not change. Target: under 300 ms.
2. Event latency: a real studio (uvicorn on 127.0.0.1, its worker) runs a job that prints a JSON
   progress event with its own ``time.time()`` every 0.2 s, as ``genart --progress json`` does;
   an HTTP client reads ``/jobs/N/events`` (server-sent events) and records arrival minus write
   time. Target: under 1 s. The job is a small Python script instead of a training run so that the
   figure is the studio's delay, not the training's; the worker runs it exactly as it runs genart.
Needs the studio extra; makes its own data (no ../shared/data).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def fake_runs(root: Path, count: int) -> None:
    from PIL import Image

    image = root / "_grid.png"
    Image.new("RGB", (138, 138), (90, 160, 150)).save(image)
    grid = image.read_bytes()
    params = {"image_size": 32, "channels": 3, "latent": 32, "latent_grid": 0, "width": 32, "blocks": 0,
              "loss": "mixlogistic", "beta": 2.0, "warmup": 0, "free_bits": 0.0, "lr": 0.002,
              "lr_schedule": "constant", "temperature": 1.0, "prior": "mixture", "prior_components": 50}
    for i in range(count):
        run = root / f"20261206-{i:06d}-{'vae' if i % 2 else 'gan'}"
        (run / "samples").mkdir(parents=True)
        (run / "grid.png").write_bytes(grid)
        manifest = {"format": "genart-run-1", "status": "complete" if i % 7 else "failed",
                    "created": f"2026-12-06T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}+0000",
                    "command": "genart run --model vae --data shapes", "seed": i, "device": "cpu",
                    "precision": "bf16", "model": {"spec": "vae", "name": "vae", "params": params},
                    "data": {"spec": "shapes", "name": "shapes", "params": {"count": 4096}, "images": 4096},
                    "post": ["restore"], "num_samples": 16,
                    "train": {"steps": 1600, "batch_size": 32, "steps_done": 1600, "images_per_second": 900.0},
                    "losses": {"loss": 1234.5, "nelbo": 1200.0, "kl": 34.5},
                    "timings": {"train_s": 55.0 + i % 30, "sample_and_post_s": 1.2},
                    "metrics": {"eval": {"shapes:split=test": {"results": {"precision": 0.74, "recall": 0.7,
                                                                           "fd": 0.9}}}},
                    "versions": {"genart": "0.1.0", "torch": "2.13.0+cpu", "python": "3.11.7"}}
        (run / "manifest.json").write_text(json.dumps(manifest, indent=2))
    image.unlink()


def runs_page(count: int, repeats: int) -> dict[str, Any]:
    from genart.api import App

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from genart_studio.app import create_app

    registry = App.from_entry_points().registry
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        fake_runs(root, count)
        client = TestClient(create_app(root, registry, start_worker=False))
        start = time.perf_counter()
        first = client.get("/")
        cold = time.perf_counter() - start
        assert first.status_code == 200 and first.text.count('<article class="card') == count
        warm = []
        for _ in range(repeats):
            start = time.perf_counter()
            response = client.get("/?sort=steps")
            warm.append(time.perf_counter() - start)
            assert response.status_code == 200
        start = time.perf_counter()
        filtered = client.get("/?q=gan&status=complete")
        filter_s = time.perf_counter() - start
        return {"runs": count, "cold_ms": round(cold * 1000, 1),
                "warm_median_ms": round(statistics.median(warm) * 1000, 1), "warm_max_ms": round(max(warm) * 1000, 1),
                "filtered_ms": round(filter_s * 1000, 1), "filtered_cards": filtered.text.count('<article class="card'),
                "html_kib": round(len(first.text) / 1024)}


def event_latency(events: int) -> dict[str, Any]:
    import httpx
    import uvicorn

    from genart.api import App
    from genart_studio.app import create_app

    code = ("import json, time\n"
            f"for i in range({events}):\n"
            "    print(json.dumps({'event': 'step', 'step': i, 'unix': time.time()}), flush=True)\n"
            "    time.sleep(0.2)\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Path(folder), App.from_entry_points().registry)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            job = app.state.studio.queue.add("bench", [sys.executable, "-c", code])
            app.state.studio.worker.wake.set()
            delays = []
            with httpx.stream("GET", f"http://127.0.0.1:{port}/jobs/{job}/events", timeout=60) as response:
                for line in response.iter_lines():
                    if line.startswith("data: {") and '"step"' in line:
                        delays.append(time.time() - json.loads(line[6:])["unix"])
                    if line.startswith("event: end"):
                        break
        finally:
            server.should_exit = True
            thread.join(10)
    return {"events": len(delays), "median_ms": round(statistics.median(delays) * 1000, 1),
            "p90_ms": round(sorted(delays)[int(0.9 * (len(delays) - 1))] * 1000, 1),
            "max_ms": round(max(delays) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--events", type=int, default=40)
    args = parser.parse_args()
    page = runs_page(args.runs, args.repeats)
    print(f"runs page, {page['runs']} runs: first {page['cold_ms']} ms (reads every manifest), then median "
          f"{page['warm_median_ms']} ms, max {page['warm_max_ms']} ms over {args.repeats}; filtered to "
          f"{page['filtered_cards']} cards: {page['filtered_ms']} ms; page {page['html_kib']} KiB  (target < 300 ms)")
    latency = event_latency(args.events)
    print(f"event latency, job write -> client: median {latency['median_ms']} ms, p90 {latency['p90_ms']} ms, "
          f"max {latency['max_ms']} ms over {latency['events']} events  (target < 1000 ms)")
    print(json.dumps({"runs_page": page, "event_latency": latency}))


if __name__ == "__main__":
    main()
