"""A run made before a model's default changed still loads, samples and resumes as the model it was
trained as: the manifest's recorded parameters fill in what its spec left to defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genart.api import load_run_model
from genart.contract.plugins import App

#: a tiny VAE with the likelihood the default was before it became ``mixlogistic`` (a different output layer)
OLD_DEFAULT = "vae:width=4,latent=2,image_size=8"


def old_default_run(genart_cli: Any, app: App, tmp_path: Path) -> Path:
    """A run trained with ``loss=logistic`` whose manifest spec says only ``vae:...``, as a run of the old
    default recorded it (its params record the likelihood it used)."""
    result = genart_cli(["run", "--model", f"{OLD_DEFAULT},loss=logistic", "--data", "shapes:count=8", "--steps", "2",
                         "--out", str(tmp_path), "-q"], app=app)
    assert result.exit_code == 0, result.output
    (run,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    manifest_path = run / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["model"]["params"]["loss"] == "logistic"
    manifest["model"]["spec"] = OLD_DEFAULT
    manifest_path.write_text(json.dumps(manifest))
    return run


def test_a_run_of_an_old_default_loads_samples_and_resumes(builtin_app: App, genart_cli: Any, tmp_path: Path) -> None:
    run = old_default_run(genart_cli, builtin_app, tmp_path)
    model, _, _ = load_run_model(builtin_app, run, "cpu")
    assert model.params.loss == "logistic"  # type: ignore[attr-defined]
    sampled = genart_cli(["sample", str(run), "-n", "2"], app=builtin_app)
    assert sampled.exit_code == 0, sampled.output
    resumed = genart_cli(["run", "--resume", str(run), "--steps", "3", "-q"], app=builtin_app)
    assert resumed.exit_code == 0, resumed.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["model"]["params"]["loss"] == "logistic"


def test_model_args_still_override_and_given_options_stay(builtin_app: App, genart_cli: Any, tmp_path: Path) -> None:
    run = old_default_run(genart_cli, builtin_app, tmp_path)
    model, _, _ = load_run_model(builtin_app, run, "cpu", model_args="temperature=0.5")
    assert model.params.temperature == 0.5 and model.params.loss == "logistic"  # type: ignore[attr-defined]
    assert model.params.width == 4  # type: ignore[attr-defined]
