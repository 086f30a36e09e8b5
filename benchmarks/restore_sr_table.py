"""Quality and speed of the learned upsampler and restorer, against the classical methods, in one table.

    flock /tmp/genart-heavy.lock python -m benchmarks.restore_sr_table            # everything
    python -m benchmarks.restore_sr_table --only sr --quick                       # a fast look

Sections:
  * Set14 super-resolution x2/x3/x4: Y-PSNR / SSIM (ITU-R BT.601 studio-swing Y of 8-bit outputs,
    ``scale`` border pixels cropped, as in the SR literature). Low-resolution inputs are made with Pillow's
    bicubic downscale of the mod-cropped image; the baseline is Pillow's bicubic upscale.
  * Kodak24 colour denoising at sigma 15/25/50: PSNR over RGB of 8-bit outputs. Noise is Gaussian, seed 0
    per image, and the noisy image is clipped to [0, 1] (post-processors take images in [0, 1]).
    The learned denoiser as shipped (``ensemble=8``, the default) and in one pass (``ensemble=1``).
    Compared with the noisy input and the classical chain (``restore``, and ``restore:sharpen=0`` which is
    the classical chain's best setting for noise).
  * Speed: x4 of a 512x512 image and denoising of a 512x512 image (median of 3, after a warm-up), and
    peak resident memory (VmHWM, measured in a fresh subprocess) for a 4096x4096 input.
Data: ../shared/data/{Set14,Kodak24} (or --data-root DIR, or $GENART_DATA); a missing folder a chosen section
needs ends the run with one line and exit status 1.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from benchmarks.common import add_data_root, context, data_root, require

SEED = 0


def build(spec: str):
    return context("fp32").build("post", spec)


def to_tensor(image):
    import numpy as np
    import torch

    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(array).permute(2, 0, 1)[None]


def y_channel(rgb):
    """BT.601 studio-swing luma (16..235) of 8-bit-rounded RGB in [0, 1]."""
    q = rgb.clamp(0, 1).mul(255).round() / 255
    return 16 + 65.481 * q[:, 0:1] + 128.553 * q[:, 1:2] + 24.966 * q[:, 2:3]


def y_scores(out, ref, border: int) -> tuple[float, float]:
    import kornia
    import torch

    a = y_channel(out)[..., border:-border, border:-border]
    b = y_channel(ref)[..., border:-border, border:-border]
    mse = torch.mean((a - b) ** 2)
    psnr = float(10 * torch.log10(255**2 / mse))
    ssim = float(kornia.metrics.ssim(a / 255, b / 255, 11, max_val=1.0, padding="valid").mean())
    return psnr, ssim


def rgb_psnr(out, ref) -> float:
    import torch

    mse = torch.mean((out.clamp(0, 1).mul(255).round() - ref.mul(255).round()) ** 2)
    return float(10 * torch.log10(255**2 / mse))


def timed(fn, x, repeats: int = 3) -> float:
    import torch

    with torch.inference_mode():
        fn(x)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def sr_section(quick: bool, ensemble: int = 1) -> list[str]:
    import torch
    from PIL import Image

    folder = data_root() / "Set14"
    files = sorted(folder.glob("*.png"))[: 4 if quick else None]
    if not files:
        return [f"Set14: no images in {folder} (skipped)"]
    rows = ["", f"Set14 super-resolution ({len(files)} images, ensemble={ensemble}): Y-PSNR dB / SSIM, "
            "border=scale cropped",
            f"{'scale':>5} | {'Pillow bicubic':>16} | {'learned':>16} | {'gain dB':>7} | {'learned MP/s':>12}"]
    for scale in (2, 3, 4):
        learned = build(f"upsample:scale={scale},method=learned,ensemble={ensemble}")
        bic, net, seconds, pixels = [], [], 0.0, 0
        for file in files:
            hr = Image.open(file).convert("RGB")
            w, h = hr.width - hr.width % scale, hr.height - hr.height % scale
            hr = hr.crop((0, 0, w, h))
            lr = hr.resize((w // scale, h // scale), Image.BICUBIC)
            ref = to_tensor(hr)
            bic.append(y_scores(to_tensor(lr.resize((w, h), Image.BICUBIC)), ref, scale))
            started = time.perf_counter()
            with torch.inference_mode():
                out = learned(to_tensor(lr))
            seconds += time.perf_counter() - started
            pixels += w * h
            net.append(y_scores(out, ref, scale))
        bp, bs = (statistics.mean(v) for v in zip(*bic, strict=True))
        npsnr, nssim = (statistics.mean(v) for v in zip(*net, strict=True))
        rows.append(f"{'x' + str(scale):>5} | {bp:8.2f} / {bs:.4f} | {npsnr:8.2f} / {nssim:.4f} | {npsnr - bp:+7.2f} |"
                    f" {pixels / 1e6 / seconds:12.2f}")
    return rows


def denoise_section(quick: bool) -> list[str]:
    import torch

    from genart.images import load_image

    folder = data_root() / "Kodak24"
    files = sorted(folder.glob("*.png"))[: 4 if quick else None]
    if not files:
        return [f"Kodak24: no images in {folder} (skipped)"]
    methods = {"learned (blind)": build("restore:task=denoise"),
               "learned one pass": build("restore:task=denoise,ensemble=1"),
               "classic restore": build("restore:denoise=0.08,sharpen=1"),
               "classic sharpen=0": build("restore:sharpen=0")}
    rows = ["", f"Kodak24 colour denoising ({len(files)} images): RGB PSNR dB (noise seed {SEED}, clipped to [0,1])",
            f"{'sigma':>5} | {'noisy':>6} | {'learned blind':>13} | {'learned sigma=':>14} | "
            f"{'blind ensemble=1':>16} | {'classic':>7} | {'classic sharpen=0':>17} | {'learned MP/s':>12}"]
    for sigma in (15, 25, 50):
        given = build(f"restore:task=denoise,sigma={sigma}")
        scores: dict[str, list[float]] = {k: [] for k in ("noisy", "blind", "given", "one", "classic", "classic0")}
        seconds, pixels = 0.0, 0
        for index, file in enumerate(files):
            clean = load_image(file, channels=3)[None]
            generator = torch.Generator().manual_seed(SEED * 1000 + index)
            noisy = (clean + torch.randn(clean.shape, generator=generator) * sigma / 255).clamp(0, 1)
            scores["noisy"].append(rgb_psnr(noisy, clean))
            with torch.inference_mode():
                started = time.perf_counter()
                scores["blind"].append(rgb_psnr(methods["learned (blind)"](noisy), clean))
                seconds += time.perf_counter() - started
                pixels += clean.shape[-1] * clean.shape[-2]
                scores["given"].append(rgb_psnr(given(noisy), clean))
                scores["one"].append(rgb_psnr(methods["learned one pass"](noisy), clean))
                scores["classic"].append(rgb_psnr(methods["classic restore"](noisy), clean))
                scores["classic0"].append(rgb_psnr(methods["classic sharpen=0"](noisy), clean))
        m = {k: statistics.mean(v) for k, v in scores.items()}
        rows.append(f"{sigma:>5} | {m['noisy']:6.2f} | {m['blind']:13.2f} | {m['given']:14.2f} | {m['one']:16.2f} | "
                    f"{m['classic']:7.2f} | {m['classic0']:17.2f} | {pixels / 1e6 / seconds:12.2f}")
    return rows


def speed_section() -> list[str]:
    import torch

    from genart.testing import make_tiny_images

    image = make_tiny_images(1, 3, (512, 512), seed=SEED)
    noisy = (image + torch.randn(image.shape, generator=torch.Generator().manual_seed(SEED)) * 25 / 255).clamp(0, 1)
    rows = ["", f"Speed on 512x512 (median of 3 after a warm-up; {torch.get_num_threads()} threads)",
            f"{'operation':<34} | {'seconds':>7} | {'MP/s (input)':>12}"]
    for label, spec, x in [("upsample x4 learned", "upsample:scale=4,method=learned", image),
                           ("upsample x4 bicubic", "upsample:scale=4,method=bicubic", image),
                           ("upsample x2 learned", "upsample:scale=2,method=learned", image),
                           ("restore denoise (blind)", "restore:task=denoise", noisy),
                           ("restore denoise (ensemble=1)", "restore:task=denoise,ensemble=1", noisy),
                           ("restore jpeg", "restore:task=jpeg", image),
                           ("restore deblur", "restore:task=deblur", image),
                           ("restore classic (sharpen=1)", "restore:denoise=0.08,sharpen=1", noisy)]:
        seconds = timed(build(spec), x)
        rows.append(f"{label:<34} | {seconds:7.3f} | {512 * 512 / 1e6 / seconds:12.2f}")
    return rows


MEMORY_PROBE = """
import sys, time, torch
from genart.api import App
from genart.testing import build_context
def hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM'):
            return int(line.split()[1]) / 1024
x = torch.rand(1, 3, 512, 512)
x = torch.nn.functional.interpolate(x, size=(4096, 4096), mode='bilinear')
before = hwm()
proc = build_context(App.from_entry_points()).build('post', sys.argv[1])
started = time.perf_counter()
with torch.inference_mode():
    out = proc(x)
print(f'{before:.0f} {hwm():.0f} {time.perf_counter() - started:.1f} {tuple(out.shape)}')
"""


def memory_section() -> list[str]:
    rows = ["", "Peak memory for a 4096x4096 RGB input (fresh subprocess, /proc/self/status VmHWM)",
            f"{'operation':<28} | {'MiB before':>10} | {'peak MiB':>8} | {'seconds':>7} | output"]
    for spec in ("restore:task=denoise", "upsample:scale=2,method=learned"):
        result = subprocess.run([sys.executable, "-c", MEMORY_PROBE, spec], capture_output=True, text=True)
        if result.returncode != 0:
            rows.append(f"{spec:<28} | failed: {result.stderr.strip().splitlines()[-1]}")
            continue
        before, peak, seconds, shape = result.stdout.split(maxsplit=3)
        rows.append(f"{spec:<28} | {before:>10} | {peak:>8} | {seconds:>7} | {shape.strip()}")
    rows.append("(input 192 MiB and output 192 MiB / 768 MiB as float32 are part of the peak; tiles of 512 px)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["sr", "denoise", "speed", "memory"], help="run one section")
    parser.add_argument("--quick", action="store_true", help="first 4 images only")
    parser.add_argument("--sr-ensemble", type=int, default=1, help="the learned upsampler's ensemble= for the SR table")
    add_data_root(parser)
    args = parser.parse_args()
    for section, folder in (("sr", "Set14"), ("denoise", "Kodak24")):
        if args.only in (None, section):
            require(data_root() / folder, f"{folder} (for the {section} section; --only speed/memory need no data)")
    import torch

    torch.manual_seed(SEED)
    print(f"genart restore/upsample benchmark - data {data_root()}, seed {SEED}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    sections = {"sr": lambda: sr_section(args.quick, args.sr_ensemble), "denoise": lambda: denoise_section(args.quick),
                "speed": speed_section, "memory": memory_section}
    for name, section in sections.items():
        if args.only in (None, name):
            print("\n".join(section()), flush=True)


if __name__ == "__main__":
    main()
