"""Style plugin benchmark: speed, losses, colour fidelity, determinism and peak memory, with targets.

Run by hand, under the shared lock on the 2-core machine:
    flock /tmp/genart-heavy.lock python -m benchmarks.style_bench --part methods   # patch vs gram, 512/2048 px
    flock /tmp/genart-heavy.lock python -m benchmarks.style_bench --part gram      # the gram method's rows
    flock /tmp/genart-heavy.lock python -m benchmarks.style_bench --part anchors   # structure beside the VGG anchors
Reads ../shared/data (Kodak24 and style), or --data-root DIR, or $GENART_DATA. ``methods``: content chicago.jpg, style
starry_night.jpg, each run in a fresh process (seconds of the stylisation, peak resident memory).
``gram``: content kodim23 (parrots, 500x500), style starry_night.jpg, seed 0, CPU, method=gram.
``anchors``: chicago.jpg with the four anchor paintings at 510 px (default method=patch), the structure
energy of genart's result, of Johnson et al.'s VGG anchor and of the unstylised photo (see
``structure_energy``; needs ../shared/data/style-anchor, which stays local).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from benchmarks.common import add_data_root, data_root, require
from benchmarks.common import context as build

#: the data root and the pictures every part reads, set by main() from --data-root / $GENART_DATA
DATA = CONTENT = STYLE = CHICAGO = Path()


def use_data_root(root: Path) -> None:
    global DATA, CONTENT, STYLE, CHICAGO
    DATA = root
    CONTENT = DATA / "Kodak24" / "kodim23.png"
    STYLE = DATA / "style" / "starry_night.jpg"
    CHICAGO = DATA / "style" / "chicago.jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["methods", "gram", "anchors", "all"], default="all")
    parser.add_argument("--sizes", default="512,2048", help="long edges for --part methods")
    parser.add_argument("--extra", default="", help="--part methods: extra parameters for both methods, "
                                                     "e.g. coherence=0.5")
    parser.add_argument("--gram-2048", action="store_true",
                        help="also run method=gram above 1024 px (slow; memory grows 4x per doubling)")
    add_data_root(parser)
    args = parser.parse_args()
    use_data_root(data_root())
    if args.part in ("methods", "all"):
        methods([int(v) for v in args.sizes.split(",")], args.gram_2048, args.extra)
    if args.part in ("gram", "all"):
        gram_rows()
    if args.part in ("anchors", "all"):
        anchor_rows()


ANCHORS = {"wave": "chicago_wave", "starry_night": "chicago_starry_night",
           "composition_vii": "chicago_composition_vii", "the_scream": "chicago_scream"}


def structure_energy(image: object, painting: object, edge: int = 128, patch: int = 8) -> float:
    """How much local structure ``image`` has at the painting's motif scale, relative to the painting:
    both in grey, scaled to a ``edge`` px long edge (a 510 px output: 8 px patches there are 32 px
    motifs), each normalised to zero mean and unit spread (so the palette does not count), then the mean
    squared contrast of its mean-removed ``patch`` px patches over the painting's. Checked by eye
    (docs/notes/2026-12-01-style-patch.md): on the four chicago pairs it ranks the VGG anchor above genart and
    genart after the reuse penalty above genart before it, as the eye does; pixel noise of std 0.3 on the
    photo moves it by under 0.03. Not a painting detector: it counts structure, not whose, and the
    unstylised photo scores 0.36-0.65, above the older genart results on two pairs."""
    import torch
    import torch.nn.functional as F

    from genart_style.gram_transfer import fit_long_edge, resize

    def patches(x: torch.Tensor) -> torch.Tensor:
        x = resize(x, fit_long_edge(*x.shape[-2:], edge)).mean(1, keepdim=True)
        x = (x - x.mean()) / x.std().clamp_min(1e-6)
        rows = F.unfold(x, patch, stride=2)[0].T
        return rows - rows.mean(1, keepdim=True)

    assert isinstance(image, torch.Tensor) and isinstance(painting, torch.Tensor)
    return float(patches(image).pow(2).sum(1).mean() / patches(painting).pow(2).sum(1).mean())


def anchor_rows() -> None:
    """Structure energy of genart patch, the VGG anchor and the photo, for each chicago pair."""
    anchor_dir = require(DATA / "style-anchor", "the VGG anchors (for --part anchors)")
    require(CHICAGO, "the content picture")
    from genart.images import load_image

    ctx = build("fp32")
    photo = load_image(CHICAGO, channels=3)[None]
    print("\nstructure energy at the motif scale (1 = the painting's), chicago.jpg, 510 px, method=patch defaults")
    print(f"{'painting':<16} {'genart':>7} {'anchor':>7} {'photo':>7}  genart < anchor")
    for painting, anchor_name in ANCHORS.items():
        style_path = DATA / "style" / f"{painting}.jpg"
        style = load_image(style_path, channels=3)[None]
        post = ctx.build("post", f"style:image={style_path},method=patch,size=510,progress=false")
        genart = structure_energy(post(photo), style)
        anchor = structure_energy(load_image(anchor_dir / f"{anchor_name}.jpg", channels=3)[None], style)
        plain = structure_energy(photo, style)
        print(f"{painting:<16} {genart:>7.3f} {anchor:>7.3f} {plain:>7.3f}  {_ok(genart < anchor)}", flush=True)


def methods(sizes: list[int], gram_big: bool, extra: str = "") -> None:
    """Seconds and peak memory per method and size, each in a fresh process."""
    require(CHICAGO, "the content picture")
    require(STYLE, "the style picture")
    print(f"methods: content {CHICAGO.name}, style {STYLE.name}, default parameters{' + ' + extra if extra else ''}, "
          "one process per row")
    print(f"{'method':<7} {'px':>5} {'seconds':>8} {'peak MiB':>9} {'target':>22} ok", flush=True)
    for method in ("patch", "gram"):
        for size in sizes:
            if method == "gram" and size > 1024 and not gram_big:
                print(f"{method:<7} {size:>5} {'skipped (--gram-2048)':>40}", flush=True)
                continue
            seconds, peak = run_once(f"method={method},size={size},max_size={max(size, 1024)}"
                                     + (f",{extra}" if extra and method == "patch" else ""))
            limit = 30 if size <= 512 else 600
            target = f"<= {limit} s" + (", < 4096 MiB" if size > 512 else "")
            ok = seconds <= limit and (size <= 512 or peak < 4096)
            print(f"{method:<7} {size:>5} {seconds:>8.1f} {peak:>9.0f} {target:>22} {_ok(ok)}", flush=True)


def in_fresh_process(body: str) -> list[str]:
    """Run ``body`` after the shared prelude (genart's context, ``hwm()`` = peak resident MiB) in a new
    interpreter, so each measurement starts from an empty heap; returns what it printed, split."""
    code = textwrap.dedent("""
        import time
        from genart.images import load_image
        from genart.api import App
        from genart.testing import build_context
        def hwm():
            for line in open('/proc/self/status'):
                if line.startswith('VmHWM'):
                    return int(line.split()[1]) / 1024
        context = build_context(App.from_entry_points())
    """) + textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.split()


def run_once(spec: str) -> tuple[float, float]:
    """Seconds and peak resident memory (MiB, VmHWM) of one stylisation of chicago.jpg in a fresh process."""
    seconds, peak = in_fresh_process(f"""
        post = context.build('post', 'style:image={STYLE},progress=false,{spec}')
        image = load_image('{CHICAGO}', channels=3)[None]
        start = time.perf_counter()
        post(image)
        print(time.perf_counter() - start, hwm())
    """)
    return float(seconds), float(peak)


def gram_rows() -> None:
    require(CONTENT, "the content picture")
    require(STYLE, "the style picture")
    import kornia
    import torch

    from genart.images import load_image
    from genart_style import color
    from genart_style.gram_transfer import resize

    torch.manual_seed(0)
    context = build("fp32")
    content = load_image(CONTENT, channels=3)[None]
    rows: list[tuple[str, str, str, str]] = []

    class _Rows(list):
        def append(self, row: tuple[str, str, str, str]) -> None:  # print as we go: a later failure keeps these
            super().append(row)
            print("  ".join(row), flush=True)

    rows = _Rows()

    def stylise(spec: str, image: torch.Tensor = content) -> tuple[object, torch.Tensor, float]:
        processor = context.build("post", f"style:image={STYLE},method=gram,progress=false,{spec}")
        start = time.perf_counter()
        out = processor(image)
        return processor, out, time.perf_counter() - start

    # 1. speed and losses at 512 px, default encoder and parameters
    processor, out, seconds = stylise("size=512")
    reference = resize(content, tuple(out.shape[-2:]))
    before, after = processor.measure(reference, content), processor.measure(out, content)
    ratio = after["style"] / before["style"]
    rows.append(("512 px stylisation, default encoder (s)", f"{seconds:.1f}", "<= 60", _ok(seconds <= 60)))
    rows.append(("style term: output / content init", f"{ratio:.3f}", "<= 0.10", _ok(ratio <= 0.10)))
    rows.append(("content term of output (relative error)", f"{after['content']:.3f}", "-", ""))

    # 2. colour preservation at 512 px
    lab_in = kornia.color.rgb_to_lab(reference)[:, 1:].mean((2, 3))
    for mode in ("none", "luminance", "match"):
        out_mode = out if mode == "none" else stylise(f"size=512,preserve_colors={mode}")[1]
        shift = (kornia.color.rgb_to_lab(out_mode)[:, 1:].mean((2, 3)) - lab_in).abs().max().item()
        target = "<= 2" if mode == "luminance" else "-"
        rows.append((f"preserve_colors={mode}: max |mean a*/b* shift|", f"{shift:.2f}", target,
                     _ok(shift <= 2) if mode == "luminance" else ""))

    # 3. determinism: same inputs and seed, twice (init=noise so the seed matters), 256 px
    _, a, _ = stylise("size=256,init=noise,seed=0")
    _, b, _ = stylise("size=256,init=noise,seed=0")
    rows.append(("same inputs + seed -> identical output (256 px, init=noise)", str(torch.equal(a, b)), "True",
                 _ok(torch.equal(a, b))))

    # 4. colortransfer: statistics before clipping and speed on a 4-megapixel image
    style = load_image(STYLE, channels=3)[None]
    mean, std = color.lab_stats(kornia.color.rgb_to_lab(style))
    unclipped = color.reinhard_fast(content, mean, std, clip=False)  # what the post-processor runs
    got_mean, got_std = color.lab_stats(kornia.color.rgb_to_lab(unclipped))
    error = max((got_mean - mean).abs().max().item(), (got_std - std).abs().max().item())
    rows.append(("colortransfer: max |Lab mean/std - style's| before clipping", f"{error:.1e}", "<= 1e-3",
                 _ok(error <= 1e-3)))
    big = resize(content, (2048, 2048))
    for name in ("colortransfer", "histmatch"):
        post = context.build("post", f"{name}:image={STYLE}")
        post(big[:, :, :64, :64])
        start = time.perf_counter()
        for _ in range(3):
            post(big)
        rate = 3 * big.shape[-1] * big.shape[-2] / 1e6 / (time.perf_counter() - start)
        target = ">= 5" if name == "colortransfer" else "-"
        rows.append((f"{name} speed, 2048x2048 (megapixels/s)", f"{rate:.1f}", target,
                     _ok(rate >= 5) if name == "colortransfer" else ""))

    # 5. peak memory of a whole stylisation, measured in a fresh process (VmHWM covers torch's allocator)
    for size in (512, 1024):
        peak, base = peak_rss(size)
        rows.append((f"peak RSS, {size} px stylisation (MiB; after imports: {base:.0f})", f"{peak:.0f}", "-", ""))

    print(f"\nstyle benchmark: content {CONTENT.name}, style {STYLE.name}, seed 0, CPU, "
          f"{torch.get_num_threads()} threads\n")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>9}  {'target':>9}  ok")
    for name, value, target, ok in rows:
        print(f"{name:<{width}}  {value:>9}  {target:>9}  {ok}")


def peak_rss(size: int) -> tuple[float, float]:
    """Peak resident memory (MiB) of stylising at ``size`` px in a fresh process, and the peak after imports."""
    peak, base = in_fresh_process(f"""
        post = context.build('post', 'style:image={STYLE},method=gram,size={size},max_size=2048,'
                                     'steps=12,progress=false')
        image = load_image('{CONTENT}', channels=3)[None]
        base = hwm()
        post(image)
        print(hwm(), base)
    """)
    return float(peak), float(base)


def _ok(flag: bool) -> str:
    return "yes" if flag else "NO"


if __name__ == "__main__":
    main()
