"""Built-in plugins use only the public API, the same one a third party gets.

Public: the names in ``genart.__all__`` and in the documented submodules below (their ``__all__``
when they declare one, else their names without a leading underscore). Everything else in the core
(``genart.train``, ``genart.plugins``, ``genart.jobs``, ...) may change without notice.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_MODULES = ("genart", "genart.api", "genart.errors", "genart.images", "genart.testing", "genart.tiling",
                  "genart.trainkit")
SOURCES = sorted([*(ROOT / "plugins").rglob("*.py"), *(ROOT / "examples").rglob("*.py")])


def public_names(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return set(declared)
    return {name for name in vars(module) if not name.startswith("_")}


def private_imports(path: Path) -> list[str]:
    """``module.name`` for every import of the core in ``path`` that is not public."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and (node.module == "genart" or node.module.startswith("genart.")):
            if node.module not in PUBLIC_MODULES:
                found += [f"{node.module} (not a public module)"]
                continue
            allowed = public_names(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names if a.name not in allowed]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("genart.") and a.name not in PUBLIC_MODULES]
    return found


def test_the_scan_sees_every_plugin() -> None:
    assert len(SOURCES) > 30 and any(p.name == "walk.py" for p in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_builtin_plugins_import_only_public_names(path: Path) -> None:
    assert private_imports(path) == [], f"{path.relative_to(ROOT)} imports non-public core names"


def test_a_private_import_is_caught(tmp_path: Path) -> None:
    source = tmp_path / "plugin.py"
    source.write_text("from genart.jobs import load_run_model\nfrom genart.api import _private\n"
                      "from genart import hookimpl\nimport genart.train\n")
    assert private_imports(source) == ["genart.jobs (not a public module)", "genart.api._private", "genart.train"]


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_name_exists(module: str) -> None:
    imported = importlib.import_module(module)
    for name in public_names(module):
        assert hasattr(imported, name), f"{module}.__all__ lists {name!r}, which it does not define"
