"""Plugin loading: isolation of broken plugins, GENART_LOAD_PLUGINS, registration errors."""

from __future__ import annotations

from typing import Any

import pytest
from plugin_modules import make_module

import genart_toy_plugin
from genart.contract.plugins import App
from genart.errors import UsageError


def test_builtin_plugins_load_from_entry_points() -> None:
    app = App.from_entry_points(only=None)
    assert app.records["data"].status == "loaded"
    assert "shapes" in app.registry.names("dataset")
    assert "vae" in app.registry.names("model")


def test_load_plugins_env_limits_and_empty_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENART_LOAD_PLUGINS", "data")
    app = App.from_entry_points()
    assert app.records["data"].status == "loaded"
    assert app.records["vae"].status == "disabled"
    assert app.registry.names("model") == []
    monkeypatch.setenv("GENART_LOAD_PLUGINS", "")
    assert all(r.status == "disabled" for r in App.from_entry_points().records.values())


def test_register_hook_that_raises_marks_only_that_plugin_failed(toy_app: App) -> None:
    def register_models(register: Any) -> None:
        register("fine", lambda p, c: None, description="registered before the failure")
        raise RuntimeError("boom")

    toy_app.register(make_module("bad", register_models=register_models), "bad")
    registry = toy_app.registry
    assert toy_app.records["bad"].status == "failed"
    assert "RuntimeError: boom" in toy_app.records["bad"].error
    assert "fine" not in registry.names("model"), "partial registrations are rolled back"
    assert "toy" in registry.names("model")
    with pytest.raises(UsageError, match="plugin 'bad' failed to load: RuntimeError: boom"):
        registry.get("model", "missing")


def test_duplicate_registration_is_refused_for_the_second_plugin_only(toy_app: App) -> None:
    def register_models(register: Any) -> None:
        register("toy", lambda p, c: None, description="a clash")

    toy_app.register(make_module("clash", register_models=register_models), "clash")
    registry = toy_app.registry
    assert toy_app.records["clash"].status == "loaded"
    (warning,) = toy_app.records["clash"].warnings
    assert "'toy'" in warning and "'clash'" in warning
    assert registry.get("model", "toy").plugin == "toy", "the first registration keeps working"


def test_bad_hook_signature_is_recorded_not_raised(toy_app: App) -> None:
    def register_models(register: Any, unexpected: Any) -> None:  # not in the hookspec
        pass

    record = toy_app.register(make_module("sig", register_models=register_models), "sig")
    assert record.status == "failed"
    assert toy_app.registry.get("model", "toy")


def test_unregister_removes_components(toy_app: App) -> None:
    assert "toy" in toy_app.registry.names("model")
    toy_app.unregister("toy")
    assert toy_app.registry.names("model") == []


def test_register_plugin_fixture_scopes_to_one_test(register_plugin: Any, genart_app: App) -> None:
    register_plugin(genart_toy_plugin, "toy")
    assert genart_app.registry.names("model") == ["toy"]


def test_register_components_hook_adds_other_kinds(genart_app: App) -> None:
    def register_components(register: Any) -> None:
        register("style-encoder", "plain", lambda p, c: "encoder", description="an encoder")

    genart_app.register(make_module("enc", register_components=register_components), "enc")
    assert genart_app.registry.get("style-encoder", "plain").plugin == "enc"


def test_broken_entry_point_plugin_is_isolated(add_entry_point: Any) -> None:
    """A third-party entry point whose module raises at import shows as failed; others still load."""
    add_entry_point("broken", "genart_definitely_missing_module.plugin")
    app = App.from_entry_points(only=None)
    assert app.records["broken"].status == "failed"
    assert "ModuleNotFoundError" in app.records["broken"].error
    assert "vae" in app.registry.names("model")
