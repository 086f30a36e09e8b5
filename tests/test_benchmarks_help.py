"""The benchmarks stay a runnable suite: each script answers ``--help`` without touching data, each file
is listed in benchmarks/README.md, none reaches into the core's private modules or patches ``sys.path``.

The benchmarks themselves run by hand (they train for minutes); these checks are what keeps a core
refactor from breaking them silently.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if p.name != "__init__.py")
#: benchmarks and the figure makers in scripts/ (they import genart the same way)
SOURCES = [*BENCHMARKS, *sorted((ROOT / "scripts").glob("*.py"))]


def is_script(path: Path) -> bool:
    """A file with a ``__main__`` block is a command; the others (common.py, dcgan.py) are shared code."""
    return 'if __name__ == "__main__":' in path.read_text()


SCRIPTS = [p for p in BENCHMARKS if is_script(p)]


def _public_api_scan() -> object:
    """tests/core/test_public_api.py's scan, the one the built-in plugins are held to."""
    spec = importlib.util.spec_from_file_location("_public_api_scan", ROOT / "tests" / "core" / "test_public_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_suite_is_seen() -> None:
    names = {p.stem for p in BENCHMARKS}
    assert {"common", "dcgan", "gan_vs_dcgan", "speed", "mnist_eval"} <= names and len(SCRIPTS) >= 15


def test_every_script_answers_help_without_data(tmp_path: Path) -> None:
    """``python -m benchmarks.NAME --help`` exits 0 with a usage line, with the data root pointing nowhere
    (so a script that reads data before parsing its arguments fails here), all scripts at once."""
    env = {**os.environ, "GENART_DATA": str(tmp_path / "no-data"), "GENART_CACHE_DIR": str(tmp_path / "cache")}

    def run(path: Path) -> tuple[str, int, str]:
        done = subprocess.run([sys.executable, "-m", f"benchmarks.{path.stem}", "--help"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        return path.stem, done.returncode, done.stdout + done.stderr

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, SCRIPTS))
    failed = [f"{name}: exit {code}: {output.strip().splitlines()[-1:] }" for name, code, output in results
              if code != 0 or "usage:" not in output]
    assert failed == []
    assert not (tmp_path / "no-data").exists() and not (tmp_path / "cache").exists()


def test_every_file_is_in_the_readme() -> None:
    readme = (ROOT / "benchmarks" / "README.md").read_text()
    missing = [p.name for p in BENCHMARKS if f"`{p.name}`" not in readme and f"benchmarks.{p.stem}`" not in readme]
    assert missing == [], f"benchmarks/README.md does not list {missing}"


def test_no_benchmark_patches_sys_path() -> None:
    patched = [p.name for p in SOURCES if "sys.path" in p.read_text()]
    assert patched == [], f"{patched} patch sys.path (run them as python -m benchmarks.NAME instead)"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_benchmarks_import_only_public_names(path: Path) -> None:
    scan = _public_api_scan()
    assert scan.private_imports(path) == [], f"{path.relative_to(ROOT)} imports non-public core names"  # type: ignore[attr-defined]


def test_the_scan_catches_a_private_import(tmp_path: Path) -> None:
    source = tmp_path / "bench.py"
    source.write_text("def f():\n    from genart.loop.train import train\n    from genart.api import train_job\n")
    assert _public_api_scan().private_imports(source) == ["genart.loop.train (not a public module)"]  # type: ignore[attr-defined]


def test_a_missing_data_root_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """The shared data check: one line on stderr naming the folder and how to point at another, status 1."""
    done = subprocess.run([sys.executable, "-c", "from benchmarks.common import mnist_folder; mnist_folder()"],
                          cwd=ROOT, env={**os.environ, "GENART_DATA": str(tmp_path)}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and str(tmp_path / "mnist") in done.stderr and "--data-root" in done.stderr
