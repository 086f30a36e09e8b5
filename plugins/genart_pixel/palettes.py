"""Palettes: built-in ones, hex lists, and GIMP ``.gpl`` / ``.hex`` / JASC ``.pal`` files, read and written.

A palette is a list of 8-bit ``(r, g, b)`` tuples, so the colours an image is mapped to are exactly the
ones the artist named (they survive the round trip through a float tensor and an 8-bit PNG).
Every malformed input is a ``ValueError`` naming the file and line, which the parameter check turns
into a one-line error.
"""

from __future__ import annotations

import re
from pathlib import Path

Colour = tuple[int, int, int]

_NES = (
    "7c7c7c 0000fc 0000bc 4428bc 940084 a80020 a81000 881400 503000 007800 006800 005800 004058 000000 "
    "bcbcbc 0078f8 0058f8 6844fc d800cc e40058 f83800 e45c10 ac7c00 00b800 00a800 00a844 008888 "
    "f8f8f8 3cbcfc 6888fc 9878f8 f878f8 f85898 f87858 fca044 f8b800 b8f818 58d854 58f898 00e8d8 787878 "
    "fcfcfc a4e4fc b8b8f8 d8b8f8 f8b8f8 f8a4c0 f0d0b0 fce0a8 f8d878 d8f878 b8f8b8 b8f8d8 00fcfc f8d8f8")

#: built-in palettes by name (hex, darkest first where the original hardware has an order)
BUILTIN: dict[str, str] = {
    "gameboy": "0f380f 306230 8bac0f 9bbc0f",
    "pico8": "000000 1d2b53 7e2553 008751 ab5236 5f574f c2c3c7 fff1e8 "
             "ff004d ffa300 ffec27 00e436 29adff 83769c ff77a8 ffccaa",
    "nes": _NES,
    "c64": "000000 ffffff 68372b 70a4b2 6f3d86 588d43 352879 b8c76f "
           "6f4f25 433900 9a6759 444444 6c6c6c 9ad284 6c5eb5 959595",
    "cga": "000000 55ffff ff55ff ffffff",
    "bw": "000000 ffffff",
}

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def parse_hex(text: str) -> Colour:
    match = _HEX.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text.strip()!r} is not a hex colour like #1d2b53")
    value = int(match.group(1), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def unique(colours: list[Colour]) -> list[Colour]:
    """Colours in first-seen order without repeats (the NES palette repeats black)."""
    return list(dict.fromkeys(colours))


def builtin(name: str) -> list[Colour]:
    return unique([parse_hex(item) for item in BUILTIN[name].split()])


def _rgb_line(file: Path, number: int, line: str, low: int = 0) -> Colour:
    parts = line.split()
    try:
        values = tuple(int(p) for p in parts[:3])
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise ValueError(f"{file} line {number}: expected three numbers 0-255 (R G B), got {line.strip()!r}")
    return values[0], values[1], values[2]


def read_gpl(file: Path, lines: list[str]) -> list[Colour]:
    if not lines or lines[0].strip() != "GIMP Palette":
        raise ValueError(f"{file}: not a GIMP palette (the first line must be 'GIMP Palette')")
    colours = []
    for number, line in enumerate(lines[1:], start=2):
        text = line.strip()
        if not text or text.startswith("#") or re.match(r"(Name|Columns)\s*:", text):
            continue
        colours.append(_rgb_line(file, number, text))
    return colours


def read_jasc(file: Path, lines: list[str]) -> list[Colour]:
    if len(lines) < 3 or lines[0].strip() != "JASC-PAL":
        raise ValueError(f"{file}: not a JASC palette (the first line must be 'JASC-PAL')")
    try:
        count = int(lines[2])
    except ValueError:
        raise ValueError(f"{file} line 3: expected the number of colours, got {lines[2].strip()!r}") from None
    body = [(n, line) for n, line in enumerate(lines[3:], start=4) if line.strip()]
    if len(body) != count:
        raise ValueError(f"{file}: says {count} colours but holds {len(body)}")
    return [_rgb_line(file, n, line) for n, line in body]


def read_hex(file: Path, lines: list[str]) -> list[Colour]:
    colours = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            colours.append(parse_hex(line))
        except ValueError as error:
            raise ValueError(f"{file} line {number}: {error}") from None
    return colours


READERS = {".gpl": read_gpl, ".pal": read_jasc, ".hex": read_hex}


def read_palette_file(path: str | Path) -> list[Colour]:
    file = Path(path)
    reader = READERS.get(file.suffix.lower())
    if reader is None:
        raise ValueError(f"{file}: unknown palette format (use .gpl, .hex or .pal)")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{file}: cannot read palette ({type(error).__name__})") from None
    colours = unique(reader(file, text.splitlines()))
    if not colours:
        raise ValueError(f"{file}: the palette holds no colours")
    return colours


def resolve(colors: str) -> list[Colour]:
    """``colors`` as the user gave it: a built-in name, a palette file, or hex colours joined with ``+``."""
    text = colors.strip()
    if text.lower() in BUILTIN:
        return builtin(text.lower())
    if Path(text).suffix.lower() in READERS:
        if not Path(text).is_file():
            raise ValueError(f"palette file not found: {text}")
        return read_palette_file(text)
    items = [item for item in re.split(r"[+;\s]+", text) if item]
    if items and all(_HEX.fullmatch(item) or item.lower() in BUILTIN for item in items):
        # built-in names may be joined too: pico8+#ffffff is PICO-8 with a pure white added
        colours: list[Colour] = []
        for item in items:
            colours += builtin(item.lower()) if item.lower() in BUILTIN else [parse_hex(item)]
        return unique(colours)
    names = ", ".join(BUILTIN)
    raise ValueError(f"colors={text!r} is neither a built-in palette ({names}), a .gpl/.hex/.pal file, "
                     "nor hex colours or built-in names joined with + (#0f380f+#9bbc0f, pico8+#ffffff)")


def gpl_text(colours: list[Colour], name: str = "genart") -> str:
    lines = ["GIMP Palette", f"Name: {name}", f"Columns: {min(len(colours), 16)}", "#"]
    lines += [f"{r:3d} {g:3d} {b:3d}\t#{r:02x}{g:02x}{b:02x}" for r, g, b in colours]
    return "\n".join(lines) + "\n"
