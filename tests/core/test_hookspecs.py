"""Every hook is documented in docs/hooks.md with its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

import pluggy

from genart.plugins import App

DOCS = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"


def hook_functions() -> list:
    """The hook specifications the plugin manager knows (not a name filter over a module)."""
    pm = App().pm
    return [caller.spec.function for caller in vars(pm.hook).values()
            if isinstance(caller, pluggy.HookCaller) and caller.spec is not None]


def test_every_hook_is_documented_with_its_signature() -> None:
    text = DOCS.read_text()
    assert len(hook_functions()) >= 6
    for function in hook_functions():
        parameters = ", ".join(inspect.signature(function).parameters)
        assert f"## {function.__name__}" in text, f"{function.__name__} has no section in docs/hooks.md"
        assert f"def {function.__name__}({parameters}): ..." in text, f"{function.__name__} signature not in docs"


def test_every_hook_has_a_one_line_docstring() -> None:
    for function in hook_functions():
        doc = (function.__doc__ or "").strip()
        assert doc and "\n" not in doc, function.__name__
