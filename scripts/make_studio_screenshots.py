"""Regenerate the screenshots in docs/studio.md: runs the studio's browser test with screenshots on.

    python scripts/make_studio_screenshots.py

Needs the studio extra and Debian's chromium and chromium-driver. The test starts a studio on a
temporary folder, uploads a folder of generated pictures, trains a tiny VAE on them from the page,
and runs one picture through a post chain; each step saves docs/images/studio-*.png.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    env = {**os.environ, "GENART_STUDIO_SCREENSHOTS": str(ROOT / "docs" / "images")}
    test = ROOT / "tests" / "plugins" / "studio" / "test_browser.py"
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-x", str(test)], cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
