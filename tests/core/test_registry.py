from __future__ import annotations

from dataclasses import dataclass

import pytest

from genart.contract.registry import ComponentSpec, Registry, make_spec
from genart.errors import PluginError, UsageError


def spec(name: str, plugin: str = "a", kind: str = "model") -> ComponentSpec:
    return make_spec(kind, name, lambda p, c: None, plugin=plugin, description="d")


def test_get_and_names() -> None:
    registry = Registry()
    registry.add(spec("vae"))
    registry.add(spec("gan"))
    assert registry.get("model", "vae").plugin == "a"
    assert registry.names("model") == ["gan", "vae"]


def test_unknown_name_suggests_the_closest() -> None:
    registry = Registry()
    registry.add(spec("vae"))
    with pytest.raises(UsageError, match="did you mean 'vae'"):
        registry.get("model", "vea")


def test_unknown_name_quotes_failed_plugins() -> None:
    registry = Registry()
    registry.failed_plugins["broken"] = "ImportError: no module named x"
    with pytest.raises(UsageError, match="plugin 'broken' failed to load: ImportError"):
        registry.get("model", "thing")


def test_duplicate_names_name_both_plugins() -> None:
    registry = Registry()
    registry.add(spec("vae", plugin="first"))
    with pytest.raises(PluginError, match="'second'.*'first'"):
        registry.add(spec("vae", plugin="second"))
    assert registry.get("model", "vae").plugin == "first"


def test_same_name_in_different_kinds_is_fine() -> None:
    registry = Registry()
    registry.add(spec("x", kind="model"))
    registry.add(spec("x", kind="loss"))
    assert registry.get("loss", "x").kind == "loss"


@pytest.mark.parametrize("name", ["", "a b", "a:b", "a,b", "a=b"])
def test_invalid_names_are_rejected(name: str) -> None:
    with pytest.raises(PluginError, match="invalid"):
        make_spec("model", name, lambda p, c: None, plugin="p", description="d")


def test_description_defaults_to_the_docstring_then_a_plain_one() -> None:
    def factory(params, context):
        """Builds a thing.

        More text."""

    assert make_spec("model", "x", factory, plugin="p").description == "Builds a thing."
    assert make_spec("model", "x", lambda p, c: None, plugin="p").description == "model from plugin 'p'"


def test_params_must_be_a_dataclass() -> None:
    @dataclass
    class Good:
        a: int = 1

    make_spec("model", "x", lambda p, c: None, plugin="p", description="d", params=Good)
    with pytest.raises(PluginError, match="dataclass"):
        make_spec("model", "x", lambda p, c: None, plugin="p", description="d", params=dict)
