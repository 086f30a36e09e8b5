"""Registration that is safe: a later plugin cannot take an earlier one's names, and mistakes a plugin
author makes are reported at load with the plugin's name instead of failing later or silently."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import click
import pytest
from plugin_modules import make_module

from genart import param
from genart.contract.plugins import App


def collect(app: App) -> list[str]:
    """Warnings the app reports, in order."""
    seen: list[str] = []
    app._warn_sink = seen.append
    return seen


@pytest.fixture
def aa_dup(monkeypatch: pytest.MonkeyPatch, add_entry_point: Any) -> None:
    """An installed third-party entry point named ``aa_dup`` (sorts before every built-in) that registers
    a post-processor named ``restore``, the built-in restore plugin's name."""

    def register_post_processors(register: Any) -> None:
        register("restore", lambda p, c: (lambda images: images), description="a third-party restore")
        register("dupe-only", lambda p, c: (lambda images: images), description="a name nobody else has")

    module = make_module("genart_aa_dup_test", register_post_processors=register_post_processors)
    monkeypatch.setitem(sys.modules, "genart_aa_dup_test", module)
    add_entry_point("aa_dup", "genart_aa_dup_test")


@pytest.mark.usefixtures("aa_dup")
def test_a_later_plugin_cannot_knock_out_a_builtin(genart_cli: Any) -> None:
    app = App()
    warnings = collect(app)
    app.load_entry_points(only=None)
    registry = app.registry
    assert app.records["restore"].status == "loaded"
    assert registry.get("post", "restore").plugin == "restore"
    assert {"patches"} <= set(registry.names("dataset")) and "restorer-trainer" in registry.names("model")
    assert app.records["aa_dup"].status == "loaded"
    assert registry.get("post", "dupe-only").plugin == "aa_dup", "the later plugin's other names still work"
    (warning,) = [w for w in warnings if "aa_dup" in w]
    assert "'restore'" in warning and "\n" not in warning

    listing = genart_cli(["plugins"], app=app).output
    assert "restore 0.1.0  [loaded]" in listing
    described = genart_cli(["describe", "restore", "--kind", "post"], app=app)
    assert described.exit_code == 0 and "from plugin restore)" in described.output


def test_a_plugin_registering_a_name_twice_is_told_so(genart_app: App) -> None:
    warnings = collect(genart_app)

    def register_models(register: Any) -> None:
        register("twice", lambda p, c: "first", description="one")
        register("twice", lambda p, c: "second", description="two")

    genart_app.register(make_module("x", register_models=register_models), "x")
    spec = genart_app.registry.get("model", "twice")
    assert spec.description == "one"
    assert warnings == ["plugin 'x' registers model 'twice' twice; the first is kept"]
    assert "registered by both" not in " ".join(genart_app.records["x"].warnings)


def test_a_misspelt_hook_is_reported_at_load_with_the_plugin_name(genart_app: App) -> None:
    warnings = collect(genart_app)

    def register_postprocessors(register: Any) -> None:
        register("never", lambda p, c: None, description="never registered")

    record = genart_app.register(make_module("typo", register_postprocessors=register_postprocessors), "typo")
    assert len(warnings) == 1, "reported when the plugin is loaded, before any component is asked for"
    assert "'typo'" in warnings[0] and "'register_postprocessors'" in warnings[0]
    assert "did you mean 'register_post_processors'" in warnings[0]
    assert record.warnings == warnings and record.hooks == []


def test_a_lambda_factory_gets_a_default_description(genart_app: App) -> None:
    def register_post_processors(register: Any) -> None:
        register("plain", lambda p, c: (lambda images: images))

    genart_app.register(make_module("lam", register_post_processors=register_post_processors), "lam")
    assert genart_app.records["lam"].status == "loaded"
    assert genart_app.registry.get("post", "plain").description == "post-processor from plugin 'lam'"


@dataclass
class NoDefault:
    """A parameter without a default."""

    strength: float


@dataclass
class DictParam:
    """A dict parameter."""

    table: dict = param({}, "a mapping")  # type: ignore[type-arg]


@dataclass
class ComplexParam:
    """A complex parameter."""

    z: complex = param(1j, "a complex number")


@pytest.mark.parametrize(("params", "field"), [(NoDefault, "strength"), (DictParam, "table"), (ComplexParam, "z")])
def test_unusable_params_are_reported_at_load(genart_app: App, params: type, field: str) -> None:
    warnings = collect(genart_app)

    def register_post_processors(register: Any) -> None:
        register("bad", lambda p, c: (lambda images: images), params=params, description="bad params")
        register("good", lambda p, c: (lambda images: images), description="fine")

    genart_app.register(make_module("prm", register_post_processors=register_post_processors), "prm")
    registry = genart_app.registry
    assert "bad" not in registry.names("post") and "good" in registry.names("post")
    (warning,) = warnings
    assert "'prm'" in warning and f"'{field}'" in warning and "'bad'" in warning


def test_unknown_names_in_load_plugins_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENART_LOAD_PLUGINS", "nosuch,data")
    app = App()
    seen = collect(app)
    app.load_entry_points(only=["nosuch", "data"])
    assert app.records["data"].status == "loaded"
    (warning,) = seen
    assert "GENART_LOAD_PLUGINS" in warning and "'nosuch'" in warning


def test_plugins_lists_the_commands_a_plugin_adds(genart_cli: Any, builtin_app: App) -> None:
    result = genart_cli(["plugins"], app=builtin_app)
    assert result.exit_code == 0
    explore = result.output.split("explore 0.1.0")[1].split("\n")[1:3]
    assert any(line.strip() == "commands: eval, reconstruct, walk" for line in explore), explore
    assert builtin_app.records["style"].commands == ["stylize"]


def test_a_command_name_that_is_taken_keeps_the_earlier_command(genart_cli: Any, toy_app: App) -> None:
    warnings = collect(toy_app)

    @click.command("run")
    def hijack() -> None:
        click.echo("hijacked")

    def register_commands(cli: Any) -> None:
        cli.add_command(hijack)

    toy_app.register(make_module("hj", register_commands=register_commands), "hj")
    result = genart_cli(["run", "--help"], app=toy_app)
    assert "hijacked" not in result.output and "--model" in result.output
    assert any("'hj'" in w and "'run'" in w for w in warnings)
    listing = genart_cli(["plugins"], app=toy_app).output  # collecting the registry keeps the warning
    assert "warning: plugin 'hj' adds command 'run'" in listing


def test_describe_with_the_wrong_kind_says_what_the_name_is(genart_cli: Any, toy_app: App) -> None:
    result = genart_cli(["describe", "invert", "--kind", "model"], app=toy_app)
    assert result.exit_code == 2
    assert "did you mean 'invert'" not in result.output
    assert "'invert' is a post-processor" in result.output


def test_describe_accepts_the_kind_label_the_cli_prints(genart_cli: Any, toy_app: App) -> None:
    result = genart_cli(["describe", "invert", "--kind", "post-processor"], app=toy_app)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("invert (post-processor, from plugin toy)")
