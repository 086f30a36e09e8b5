"""The shape of the code a newcomer reads: no import circles in the core or any built-in plugin (every
import statement counts, lazy ones inside functions and TYPE_CHECKING ones too), short core modules,
short parameter lists, and docs that name only public modules and list every core module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"
PACKAGES = [(CORE, "genart")] + [(ROOT / "plugins", p.name) for p in sorted((ROOT / "plugins").iterdir())
                                 if p.is_dir() and p.name.startswith("genart_")]
#: the longest a core module may grow before it should be split by job
MAX_MODULE_LINES = 320
#: the most parameters a core function takes (a job's state travels as a dataclass instead); the one
#: exception is a public signature that cannot change without breaking plugins
MAX_PARAMETERS = 8
PUBLIC_SIGNATURE_EXCEPTIONS = {"genart.tiling.run_learned"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports, from every import statement in it."""
    files = {module_name(p, root): p for p in (root / package).rglob("*.py")}
    edges: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = base[: len(base) - (node.level - 1)]
                    target = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets += [target, *(f"{target}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            edges[name] |= {t for t in targets if t in files and t != name}
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(("root", "package"), PACKAGES, ids=[p for _, p in PACKAGES])
def test_no_import_circles(root: Path, package: str) -> None:
    assert circles(import_graph(root, package)) == []


def test_a_circle_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import x\n")
    (package / "b.py").write_text("def f():\n    from .a import y\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n")
    assert circles(import_graph(tmp_path, "pkg")) == [["pkg.a", "pkg.b"]]


def core_modules() -> list[Path]:
    return sorted((CORE / "genart").rglob("*.py"))


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(CORE)))
def test_core_modules_are_short(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES


def test_core_functions_take_few_parameters() -> None:
    long = []
    for path in core_modules():
        module = module_name(path, CORE)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
                count = len(names) - (1 if names[:1] in (["self"], ["cls"]) else 0)
                if count > MAX_PARAMETERS and f"{module}.{node.name}" not in PUBLIC_SIGNATURE_EXCEPTIONS:
                    long.append(f"{module}.{node.name} ({count})")
    assert long == []


PUBLIC_MODULES = {"genart", "genart.api", "genart.errors", "genart.images", "genart.testing", "genart.tiling",
                  "genart.trainkit", "genart.cli"}
USER_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "docs" / "plugins").glob("*.md"))]


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_name_only_public_modules(doc: Path) -> None:
    """A plugin author follows the docs: every ``genart.x`` they name must be a public module or a name in
    one (``genart.api.App``), never a private module that may change without notice."""
    if doc.name == "architecture.md":  # the one page about the inside
        return
    import importlib

    named = set(re.findall(r"(?:`|from |import )(genart(?:\.[a-z_]+)+)", doc.read_text()))
    private = []
    for dotted in sorted(named):
        module, _, attribute = dotted.rpartition(".")
        if dotted in PUBLIC_MODULES:
            continue
        if module in PUBLIC_MODULES and attribute in getattr(importlib.import_module(module), "__all__", ()):
            continue
        private.append(dotted)
    assert private == [], f"{doc.name} names non-public modules"


def test_architecture_lists_every_core_module() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = [str(p.relative_to(CORE / "genart")) for p in core_modules()
               if not _only_a_docstring(p) and f"`{p.relative_to(CORE / 'genart').as_posix()}`" not in text]
    assert missing == [], "docs/architecture.md must list every core module with its job"


def _only_a_docstring(path: Path) -> bool:
    body = ast.parse(path.read_text()).body
    return len(body) == 1 and isinstance(body[0], ast.Expr)
