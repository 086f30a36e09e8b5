"""The runner end to end (with the toy plugin), its outputs, and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from genart.contract.plugins import App
from genart.images import load_image


def run_ok(genart_cli: Any, app: App, args: list[str]) -> Any:
    result = genart_cli(args, app=app)
    assert result.exit_code == 0, result.output + (result.stderr if hasattr(result, "stderr") else "")
    return result


def only_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def test_run_writes_a_complete_run_folder(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    run_ok(genart_cli, toy_app, ["run", "--model", "toy", "--data", "dots", "--post", "invert", "-n", "5",
                                 "--out", str(out), "-q", "--device", "cpu"])
    run = only_run(out)
    for name in ("grid.png", "grid-raw.png", "comparison.png", "checkpoint.safetensors", "manifest.json"):
        assert (run / name).is_file(), name
    assert len(list((run / "samples").glob("*.png"))) == 5
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["model"]["params"]["image_size"] == 8 and manifest["post"] == ["invert"]
    assert manifest["train"]["steps_done"] == 6 and "mse" in manifest["losses"]
    assert manifest["versions"]["torch"] == torch.__version__ and "toy" in manifest["versions"]["plugins"]
    raw, final = load_image(run / "grid-raw.png"), load_image(run / "grid.png")
    first_raw, first_final = raw[:, 2:10, 2:10], final[:, 2:10, 2:10]  # the first 8x8 sample inside the padding
    assert torch.allclose(first_raw + first_final, torch.ones_like(first_raw), atol=2 / 255), "chain not applied"


def test_same_command_same_images(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    for name in ("a", "b"):
        run_ok(genart_cli, toy_app, ["run", "--model", "toy", "--data", "dots", "--out", str(tmp_path / name),
                                     "-q", "--seed", "3"])
    # pixels, not file bytes: each PNG's recipe names its own run folder
    grids = [load_image(only_run(tmp_path / name) / "grid.png") for name in ("a", "b")]
    assert torch.equal(grids[0], grids[1])


def test_chain_order_is_the_order_given(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    run_ok(genart_cli, toy_app, ["run", "--model", "toy", "--data", "dots", "--out", str(tmp_path), "-q",
                                 "--post", "invert:amount=0.5", "--post", "invert"])
    manifest = json.loads((only_run(tmp_path) / "manifest.json").read_text())
    assert manifest["post"] == ["invert:amount=0.5", "invert"]


def test_resume_extends_a_run(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    run_ok(genart_cli, toy_app, ["train", "--model", "toy", "--data", "dots", "--out", str(tmp_path), "-q",
                                 "--steps", "4"])
    run = only_run(tmp_path)
    result = run_ok(genart_cli, toy_app, ["run", "--resume", str(run), "--steps", "8", "-q"])
    assert "resuming at step 4" in result.output
    assert json.loads((run / "manifest.json").read_text())["train"]["steps_done"] == 8


def test_checkpoint_option_skips_training_and_sample_command(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    run_ok(genart_cli, toy_app, ["run", "--model", "toy", "--data", "dots", "--out", str(tmp_path / "a"), "-q"])
    source = only_run(tmp_path / "a")
    run_ok(genart_cli, toy_app, ["run", "--checkpoint", str(source), "--model", "toy", "--out",
                                 str(tmp_path / "b"), "-q"])
    assert torch.equal(load_image(only_run(tmp_path / "b") / "grid.png"), load_image(source / "grid.png"))
    run_ok(genart_cli, toy_app, ["sample", str(source), "-n", "3", "--seed", "9"])
    assert len(list((source / "sample-seed9" / "samples").glob("*.png"))) == 3
    again = genart_cli(["sample", str(source), "-n", "3", "--seed", "9"], app=toy_app)
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_post_command_mirrors_folders_keeps_alpha_resumes_and_never_overwrites(genart_cli: Any, toy_app: App,
                                                                              tmp_path: Path) -> None:
    from genart.images import save_image

    save_image(torch.rand(4, 6, 5), tmp_path / "in" / "a.png")
    save_image(torch.rand(3, 9, 4), tmp_path / "in" / "sub" / "b.png")
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    done = run_ok(genart_cli, toy_app, ["post", str(tmp_path / "in"), "--post", "invert", "--out", str(tmp_path / "o")])
    assert "wrote 2 image(s)" in done.output and "1 non-image file(s)" in done.output
    assert load_image(tmp_path / "o" / "a.png").shape == (4, 6, 5)
    assert load_image(tmp_path / "o" / "sub" / "b.png").shape == (3, 9, 4)
    before = (tmp_path / "o" / "a.png").stat().st_mtime_ns
    args = ["post", str(tmp_path / "in"), "--post", "invert", "--out", str(tmp_path / "o")]
    again = run_ok(genart_cli, toy_app, args)
    assert "2 already done" in again.output and (tmp_path / "o" / "a.png").stat().st_mtime_ns == before
    save_image(torch.rand(3, 4, 4), tmp_path / "mine" / "a.png")  # the user's own file where an output would go
    refused = genart_cli(["post", str(tmp_path / "in"), "--post", "invert", "--out", str(tmp_path / "mine")],
                         app=toy_app)
    assert refused.exit_code == 2 and "already exists" in refused.output and "--overwrite" in refused.output
    assert not (tmp_path / "mine" / "sub").exists()  # refused before any work
    redone = run_ok(genart_cli, toy_app, [*args, "--overwrite"])
    assert "wrote 2 image(s)" in redone.output


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--model", "tyo"], "unknown model 'tyo'; did you mean 'toy'?"),
    (["run", "--model", "toy:size=3"], "no parameter 'size'"),
    (["run", "--model", "toy:lr=fast"], "'fast' is not a number"),
    (["run", "--model", "toy", "--data", "dost"], "did you mean 'dots'"),
    (["run", "--model", "toy", "--post", "inverr"], "did you mean 'invert'"),
    (["run", "--model", "toy", "--device", "cuda:7"], "cuda"),
    (["run", "--model", "toy", "--device", "tpu"], "unknown device"),
    (["run", "--model", "toy", "--data", "dots:holdout=99,split=test"], "holdout=99"),
    (["post", "nothing-here.png", "--post", "invert", "--out", "o"], "does not exist"),
    (["describe", "tyo"], "did you mean 'toy'"),
])
def test_bad_input_is_a_one_line_error(genart_cli: Any, toy_app: App, tmp_path: Path, args: list[str],
                                       message: str) -> None:
    result = genart_cli([*args, "--out", str(tmp_path)] if args[0] == "run" else args, app=toy_app)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if "error" in line.lower()]
    assert len(error_lines) == 1, result.output


def test_unknown_model_exit_code_is_2(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    assert genart_cli(["run", "--model", "nope", "--out", str(tmp_path)], app=toy_app).exit_code == 2


def test_diverging_training_exits_non_zero_with_message(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    result = genart_cli(["run", "--model", "toy:blowup=3", "--data", "dots", "--out", str(tmp_path), "-q"],
                        app=toy_app)
    assert result.exit_code == 3 and "became nan" in result.output


def test_config_file_supplies_defaults_and_cli_wins(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    config = tmp_path / "job.toml"
    config.write_text('model = "toy:image_size=4"\ndata = "dots"\npost = ["invert"]\nsteps = 3\nseed = 5\n'
                      f'out = "{tmp_path / "runs"}"\nnum-samples = 2\n')
    run_ok(genart_cli, toy_app, ["run", "-c", str(config), "--steps", "2", "-q"])
    manifest = json.loads((only_run(tmp_path / "runs") / "manifest.json").read_text())
    assert manifest["model"]["spec"] == "toy:image_size=4" and manifest["post"] == ["invert"]
    assert manifest["train"]["steps"] == 2 and manifest["seed"] == 5 and manifest["num_samples"] == 2
    config.write_text('modle = "toy"\n')
    result = genart_cli(["run", "-c", str(config)], app=toy_app)
    assert result.exit_code == 2 and "did you mean 'model'" in result.output


def test_plugins_and_describe(genart_cli: Any, toy_app: App) -> None:
    listing = run_ok(genart_cli, toy_app, ["plugins", "--json"])
    (toy,) = json.loads(listing.output)
    assert toy["status"] == "loaded" and {c["name"] for c in toy["components"]} == {"toy", "dots", "invert"}
    described = run_ok(genart_cli, toy_app, ["describe", "toy"]).output
    assert "image_size" in described and "learning rate" in described and "0.1" in described


def test_help_does_not_import_torch() -> None:
    code = "import sys; from genart.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit: pass\n" \
           "print('torch' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip().endswith("False")


def test_broken_plugin_shows_failed_while_run_works(tmp_path: Path) -> None:
    """The acceptance case: a third-party plugin raising at import; `genart plugins` and `genart run` both work."""
    plugin_dir = tmp_path / "site"
    (plugin_dir / "broken_plugin").mkdir(parents=True)
    (plugin_dir / "broken_plugin" / "__init__.py").write_text("raise RuntimeError('this plugin is broken')\n")
    dist = plugin_dir / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[genart]\nbroken = broken_plugin\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(plugin_dir)}
    listing = subprocess.run([sys.executable, "-m", "genart.cli", "plugins"], capture_output=True, text=True,
                             env=env, check=True).stdout
    assert "broken 1.0  [failed]" in listing and "this plugin is broken" in listing
    job = subprocess.run([sys.executable, "-m", "genart.cli", "run", "--model", "vae:width=4,latent=2,image_size=8",
                          "--data", "shapes:count=8", "--steps", "2", "--batch-size", "4", "-n", "2", "-q",
                          "--out", str(tmp_path / "runs")], capture_output=True, text=True, env=env)
    assert job.returncode == 0, job.stderr
    assert (only_run(tmp_path / "runs") / "grid.png").is_file()
