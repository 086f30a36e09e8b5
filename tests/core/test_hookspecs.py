"""Every hook is documented in docs/hooks.md with its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

import pluggy

from genart.contract.plugins import App

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


def test_every_public_name_is_documented_with_its_signature() -> None:
    """genart, genart.api and genart.trainkit: each exported name in docs/hooks.md, functions with their
    parameters in order (``name(a, b, c)``)."""
    import genart
    import genart.api
    import genart.trainkit

    text = DOCS.read_text()
    for module in (genart, genart.api, genart.trainkit):
        for name in module.__all__:
            if name == "__version__":
                continue
            obj = getattr(module, name)
            assert f"`{name}" in text or f"{name}(" in text, f"{module.__name__}.{name} is not in docs/hooks.md"
            if inspect.isfunction(obj) and not name[0].isupper() and name != "hookimpl":
                parameters = [p.name for p in inspect.signature(obj).parameters.values()
                              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
                assert f"{name}({', '.join(parameters)}" in text, f"{module.__name__}.{name}'s signature not in docs"
