"""Does the default ``restore`` (task=auto) ever lower quality? PSNR on Kodak24, clean and damaged.

    flock /tmp/genart-heavy.lock python -m benchmarks.restore_auto_bench          # the table in restore.md
    python -m benchmarks.restore_auto_bench --quick                               # 4 images, a fast look

Conditions: clean; Gaussian noise sigma 15 and 25 (seed 1000 * condition + image index, clipped to [0, 1]
and rounded to 8 bits, as a file would be); JPEG (Pillow, 4:2:0) at quality 10, 30 and, with --extra, 50,
70 and 90 (the qualities near the detector's threshold). Methods: the input itself, the old default (the
classic chain, ``task=classic``), each learned task run on every image (denoise, jpeg, deblur), and the new
default (``restore``, which is ``task=auto``). PSNR over RGB of 8-bit outputs, mean over images; an output
identical to the clean reference counts 100 dB (so "clean, input" reads 100). The last column counts what
auto chose. Data: /work/shared/data/Kodak24 (override with GENART_DATA). Exits 0 with a message when missing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve()
DATA = Path(os.environ.get("GENART_DATA", "/work/shared/data"))
METHODS = {"classic (old default)": "restore:task=classic", "denoise": "restore:task=denoise",
           "jpeg": "restore:task=jpeg", "deblur": "restore:task=deblur", "auto (new default)": "restore"}


def psnr(out, ref) -> float:
    import torch

    mse = float(torch.mean((out.clamp(0, 1).mul(255).round() - ref.mul(255).round()) ** 2))
    return 100.0 if mse == 0 else 10 * torch.log10(torch.tensor(255**2 / mse)).item()


def degrade_image(clean, condition: str, seed: int):
    import torch

    from genart_restore import degrade

    if condition == "clean":
        return clean
    if condition.startswith("sigma"):
        generator = torch.Generator().manual_seed(seed)
        noise = torch.randn(clean.shape, generator=generator) * int(condition[5:]) / 255
        return degrade.quantize(clean + noise)
    return degrade.jpeg(clean, torch.tensor([int(condition[1:])]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 4 images only")
    parser.add_argument("--extra", action="store_true", help="also JPEG q=50, 70, 90")
    args = parser.parse_args()
    import torch

    from genart.api import App
    from genart.images import load_image
    from genart.testing import build_context

    torch.set_num_threads(2)
    files = sorted((DATA / "Kodak24").glob("*.png"))[: 4 if args.quick else None]
    if not files:
        print(f"no images in {DATA / 'Kodak24'}; nothing measured")
        return 0
    context = build_context(App.from_entry_points())
    processors = {name: context.build("post", spec) for name, spec in METHODS.items()}
    conditions = ["clean", "sigma15", "sigma25", "q10", "q30"] + (["q50", "q70", "q90"] if args.extra else [])
    names = ["input", *METHODS]
    print(f"Kodak24 ({len(files)} images), RGB PSNR dB of 8-bit outputs; {torch.get_num_threads()} threads")
    print("| condition | " + " | ".join(names) + " | auto chose |")
    print("|---" * (len(names) + 2) + "|")
    for number, condition in enumerate(conditions):
        scores: dict[str, list[float]] = {name: [] for name in names}
        chose: Counter[str] = Counter()
        for index, file in enumerate(files):
            clean = load_image(file, channels=3)[None]
            damaged = degrade_image(clean, condition, 1000 * number + index)
            scores["input"].append(psnr(damaged, clean))
            with torch.inference_mode():
                for name, processor in processors.items():
                    scores[name].append(psnr(processor(damaged), clean))
            chose.update(processors["auto (new default)"].last_choices)
        means = [statistics.mean(scores[name]) for name in names]
        best = f"{max(means[2:-1]):.2f}"  # bold: the best single learned task, and auto where it ties
        cells = [f"**{m:.2f}**" if f"{m:.2f}" == best and i >= 2 else f"{m:.2f}" for i, m in enumerate(means)]
        print(f"| {condition} | " + " | ".join(cells) + " | "
              + ", ".join(f"{k} {v}" for k, v in sorted(chose.items())) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
