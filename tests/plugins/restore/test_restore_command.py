"""``genart restore``: the short command that runs ``genart post`` with one ``restore`` step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.api import App
from genart.images import load_image, save_image
from genart.testing import make_tiny_images


def test_restore_hands_its_images_to_post(builtin_app: App, genart_cli: Any, tmp_path: Path) -> None:
    save_image(make_tiny_images(1, 3, 12)[0], tmp_path / "in.png")
    fixed = genart_cli(["restore", str(tmp_path / "in.png"), "--task", "classic", "--out", str(tmp_path / "fixed"),
                        "-q", "--device", "cpu"], app=builtin_app)
    assert fixed.exit_code == 0, fixed.output
    assert tuple(load_image(tmp_path / "fixed" / "in.png").shape) == (3, 12, 12)
    again = genart_cli(["restore", str(tmp_path / "in.png"), "--out", str(tmp_path / "fixed"), "-q"], app=builtin_app)
    assert again.exit_code != 0 and "--overwrite" in again.output  # post's own safety: nothing replaced unasked
