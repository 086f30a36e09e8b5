"""A plugin API that warns before it breaks: its version, what a plugin declaring another one gets, the
old forms that keep working with a warning, loss tags, the sampler check, and events-only JSON progress."""

from __future__ import annotations

import json
import subprocess
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import click
import pytest
import torch
import torch.nn.functional as F

import genart
from genart.api import App
from genart.contract.api_version import check_plugin_api
from genart.errors import PluginAPIDeprecation, PluginError
from genart.testing import build_context, check_gan_loss, check_sampler, make_tiny_images


def test_the_plugin_api_version_is_semantic_and_documented() -> None:
    major, minor = (int(part) for part in genart.PLUGIN_API.split("."))
    assert major >= 2
    changelog = (Path(__file__).resolve().parents[2] / "CHANGELOG.md").read_text()
    assert f"plugin API {major}.{minor}" in changelog


@pytest.mark.parametrize("declared", [None, "2.0", "2", " 2.0 "])
def test_a_plugin_for_this_version_loads_quietly(declared: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_plugin_api(declared, "p", current="2.0").warning == ""


@pytest.mark.parametrize(("declared", "words"), [("2.1", "needs genart plugin API 2.1"), ("3.0", "needs"),
                                                  ("0.9", "no longer supports"), ("two", "not a version")])
def test_a_plugin_for_another_version_is_refused_in_one_line(declared: str, words: str) -> None:
    with pytest.raises(PluginError) as refused:
        check_plugin_api(declared, "p", current="2.0")
    message = str(refused.value)
    assert words in message and "\n" not in message
    if words != "not a version":
        assert declared in message and "2.0" in message


def test_a_plugin_for_the_previous_major_loads_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="written for genart plugin API 1.0"):
        verdict = check_plugin_api("1.0", "old", current="2.0")
    assert "1.0" in verdict.warning and "2.0" in verdict.warning and "CHANGELOG" in verdict.warning


def _plugin(name: str, api: str | None) -> types.ModuleType:
    module = types.ModuleType(name)

    @genart.hookimpl
    def register_post_processors(register: genart.Register) -> None:
        register(f"{name}-post", lambda params, context: (lambda images: images))

    module.register_post_processors = register_post_processors  # type: ignore[attr-defined]
    if api is not None:
        module.GENART_PLUGIN_API = api  # type: ignore[attr-defined]
    return module


def test_the_app_refuses_a_newer_plugin_and_keeps_an_older_one_warned() -> None:
    said: list[str] = []
    app = App(warn=said.append)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        newer = app.register(_plugin("newer", "9.0"), "newer")
        older = app.register(_plugin("older", "1.0"), "older")
    assert newer.status == "failed" and "9.0" in newer.error and genart.PLUGIN_API in newer.error
    assert older.status == "loaded" and older.warnings
    assert "older-post" in app.registry.names("post") and "newer-post" not in app.registry.names("post")
    assert any("9.0" in line for line in said) and any("1.0" in line for line in said)


class OldFormLoss:
    """A non-saturating loss exactly as the plugin API 1 documented it (2026-12-01): real and fake were
    image tensors and the loss called ``d`` on them."""

    def d_loss(self, d: Any, real: Any, fake: Any) -> Any:
        return F.softplus(-d(real).float()).mean() + F.softplus(d(fake.detach()).float()).mean()

    def g_loss(self, d: Any, fake: Any) -> Any:
        return F.softplus(-d(fake).float()).mean()


def test_an_old_form_gan_loss_still_gives_the_same_values_warned() -> None:
    from genart_gan.losses import NonSaturating

    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 1))

    def d(x: Any) -> Any:
        return net(genart.Scored.images_of(x)).squeeze(1)

    real, fake = make_tiny_images(4, 3, 4, seed=1) * 2 - 1, make_tiny_images(4, 3, 4, seed=2) * 2 - 1
    scored_real, scored_fake = genart.Scored(real, d(real)), genart.Scored(fake, d(fake))
    with pytest.warns(PluginAPIDeprecation, match="real.scores"):
        old = OldFormLoss().d_loss(d, scored_real, scored_fake)
    assert torch.allclose(old, NonSaturating().d_loss(d, scored_real, scored_fake))
    with pytest.warns(PluginAPIDeprecation):
        check_gan_loss(OldFormLoss())


def test_a_gan_trains_with_an_old_form_loss_from_a_plugin_warned(builtin_app: App, tmp_path: Path) -> None:
    """The third-party loss of the issue: written for 2026-12-01, it fails today with "'Scored' object has
    no attribute 'detach'" unless the old form is served."""
    plugin = types.ModuleType("oldloss")

    @genart.hookimpl
    def register_losses(register: genart.Register) -> None:
        register("oldns", lambda params, context: OldFormLoss(), tags=("gan",))

    plugin.register_losses = register_losses  # type: ignore[attr-defined]
    plugin.GENART_PLUGIN_API = "1.0"  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        builtin_app.register(plugin, "oldloss")
    context = build_context(builtin_app)
    model = context.build("model", "gan:loss=oldns,image_size=28,width=8")
    with pytest.warns(PluginAPIDeprecation):
        losses = model.train_step(make_tiny_images(4, 3, 28))
    assert all(torch.isfinite(torch.tensor(value)) for value in losses.values())


def test_the_old_latent_model_alias_warns() -> None:
    with pytest.warns(PluginAPIDeprecation, match="LatentDecoder"):
        assert genart.LatentModel is genart.LatentDecoder  # type: ignore[attr-defined]


def _loss_plugin(tags: tuple[str, ...]) -> types.ModuleType:
    plugin = types.ModuleType("tagged")

    @genart.hookimpl
    def register_losses(register: genart.Register) -> None:
        register("mine", lambda params, context: OldFormLoss(), tags=tags)

    plugin.register_losses = register_losses  # type: ignore[attr-defined]
    return plugin


def test_a_loss_of_another_family_is_refused_by_the_model_in_one_line(builtin_app: App) -> None:
    builtin_app.register(_loss_plugin(("vae-likelihood",)), "tagged")
    with pytest.raises(genart.UsageError, match="tagged vae-likelihood, not gan") as refused:
        build_context(builtin_app).build("model", "gan:loss=mine,image_size=28,width=8")
    assert "hinge" in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(genart.UsageError, match="not a VAE likelihood"):  # the protocol is checked first
        build_context(builtin_app).build("model", "vae:loss=hinge")


def test_an_untagged_loss_still_works_warned(builtin_app: App) -> None:
    builtin_app.register(_loss_plugin(()), "tagged")
    with pytest.warns(PluginAPIDeprecation, match="tags=\\('gan',\\)"):
        build_context(builtin_app).build("model", "gan:loss=mine,image_size=28,width=8")


def test_the_built_in_samplers_pass_the_sampler_check() -> None:
    from genart_diffusion.samplers import EulerSampler, HeunSampler, StochasticSampler

    for sampler in (EulerSampler(), HeunSampler(), StochasticSampler(40, 0.05, 50, 1.003)):
        check_sampler(sampler)


def test_the_sampler_check_refuses_a_sampler_that_ignores_its_sigmas() -> None:
    def one_jump(denoise: Any, x: Any, sigmas: list[float], generator: Any = None) -> Any:
        return denoise(x, sigmas[0])

    with pytest.raises(AssertionError, match="spread"):
        check_sampler(one_jump)


def test_a_plugin_commands_bug_names_the_plugin(genart_app: App, genart_cli: Any) -> None:
    plugin = types.ModuleType("buggy")

    @genart.hookimpl
    def register_commands(cli: click.Group) -> None:
        @cli.command("crash")
        def crash() -> None:
            raise KeyError("oops")

    plugin.register_commands = register_commands  # type: ignore[attr-defined]
    genart_app.register(plugin, "buggy-plugin")
    result = genart_cli(["crash"])
    assert result.exit_code == 1
    assert "command 'crash' of plugin 'buggy-plugin'" in result.output


def test_json_progress_is_events_only(tmp_path: Path) -> None:
    """The loop's own messages (here the --compile opt-out of a model that keeps Python-side state) are
    events too, so a front end reading --progress json gets nothing but JSON lines."""
    done = subprocess.run([sys.executable, "-m", "genart.cli", "run", "--model", "gan:image_size=28,width=8",
                           "--steps", "2", "--batch-size", "4", "-n", "2", "--compile", "--progress", "json",
                           "--device", "cpu", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    texts = [event.get("text", "") for event in events if event["event"] == "message"]
    assert any("--compile" in text and "opts out" in text for text in texts)
    assert events[-1]["event"] == "done"


def test_a_plugin_commands_images_name_their_reproducer(genart_app: App, genart_cli: Any, tmp_path: Path) -> None:
    """The documented way a plugin command's PNGs are made again by ``genart reproduce``: the recipe names
    ``"reproducer": "package.module:function"`` of a loaded plugin, and inputs are found by content."""
    import genart_stamp_plugin

    from genart.images import save_image

    genart_app.register(genart_stamp_plugin, "stamp")
    save_image(make_tiny_images(1, 3, 12)[0], tmp_path / "in.png")
    made = genart_cli(["stamp", str(tmp_path / "in.png"), "--strength", "0.3", "--out", str(tmp_path / "s.png")])
    assert made.exit_code == 0, made.output
    (tmp_path / "in.png").rename(tmp_path / "moved.png")  # found again by its SHA-256
    again = genart_cli(["reproduce", str(tmp_path / "s.png"), "--out", str(tmp_path / "again"),
                        "--inputs", str(tmp_path)])
    assert again.exit_code == 0 and "identical" in again.output, again.output
    genart_app.unregister("stamp")
    refused = genart_cli(["reproduce", str(tmp_path / "s.png"), "--out", str(tmp_path / "third")])
    assert refused.exit_code != 0 and "not part of a loaded plugin" in refused.output


def test_every_fixture_of_the_kit_is_documented() -> None:
    """``pytest --fixtures`` shows a plugin author each fixture's doc."""
    import genart.testing as kit

    fixtures = [name for name in kit.__all__ if hasattr(getattr(kit, name), "_fixture_function_marker")
                or type(getattr(kit, name)).__name__ == "FixtureFunctionDefinition"]
    assert len(fixtures) == 6
    for name in fixtures:
        definition = getattr(kit, name)
        unwrap = getattr(definition, "_get_wrapped_function", None)
        function = unwrap() if unwrap is not None else definition
        assert (function.__doc__ or "").strip(), f"fixture {name} has no docstring"
