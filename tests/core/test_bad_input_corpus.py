"""Bad inputs a new user gives, through the real CLI with the built-in plugins.

Every case must end with a non-zero exit, no traceback, exactly one ``genart: error:`` line that
names the culprit (the option, file, component or value at fault), and no file changed or lost
under the test's folder (inputs and earlier runs stay byte for byte as they were).
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import save_file

from genart.cli import make_cli
from genart.contract.plugins import App
from genart.images import save_image
from genart.testing import make_tiny_images


class Evil:
    """Unpickling this would run code: the files built from it must be refused, not loaded."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (print, ("pickle code ran",))


@dataclass
class World:
    root: Path
    vae_run: Path
    gan_run: Path

    def p(self, name: str) -> str:
        return str(self.root / name)


def _train(cli: Any, root: Path, name: str, model: str) -> Path:
    out = root / name
    result = CliRunner().invoke(cli, ["run", "--model", model, "--data", "shapes:count=8", "--steps", "1",
                                      "--batch-size", "2", "-n", "1", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    (run,) = out.iterdir()
    return run


@pytest.fixture(scope="module")
def app() -> App:
    return App.from_entry_points(only=None)


@pytest.fixture(scope="module")
def world(app: App, tmp_path_factory: pytest.TempPathFactory) -> World:
    """Inputs of every kind of badness, and two tiny trained runs (a VAE and a GAN)."""
    root = tmp_path_factory.mktemp("corpus")
    cli = make_cli(app)
    vae_run = _train(cli, root, "vae-runs", "vae:image_size=8,latent=2,width=4")
    gan_run = _train(cli, root, "gan-runs", "gan:image_size=28")
    good = make_tiny_images(1, 3, 16)[0]
    save_image(good, root / "good.png")
    (root / "zero.png").write_bytes(b"")
    (root / "text.jpg").write_text("this is not a picture")
    (root / "truncated.png").write_bytes((root / "good.png").read_bytes()[:60])
    (root / "bad-images").mkdir()
    (root / "bad-images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (root / "empty-dir").mkdir()
    (root / "notes.txt").write_text("not a folder")
    (root / "binary.toml").write_bytes(b"\xff\xfe\x00steps = 3\x80\x81")
    (root / "syntax.toml").write_text("steps = = 3\n")
    (root / "unknown-key.toml").write_text("stepz = 3\n")
    (root / "table.toml").write_text('[model]\nname = "vae"\n')
    (root / "bad-type.toml").write_text('steps = "many"\n')
    with open(root / "evil.pt", "wb") as handle:
        pickle.dump({"weight": Evil()}, handle)
    torch.save({"weight": torch.zeros(2)}, root / "plain.pt")
    save_file({"x": torch.zeros(2)}, str(root / "foreign.safetensors"))
    (root / "checkpoint.txt").write_text("not a checkpoint")
    # runs with the wrong checkpoint inside
    for name, source in (("vae-with-gan-ckpt", gan_run), ("vae-other-size", None)):
        folder = root / name
        shutil.copytree(vae_run, folder)
        if source is not None:
            shutil.copy(source / "checkpoint.safetensors", folder / "checkpoint.safetensors")
    other = _train(cli, root, "vae-big-runs", "vae:image_size=8,latent=3,width=4")
    shutil.copy(other / "checkpoint.safetensors", root / "vae-other-size" / "checkpoint.safetensors")
    (root / "bad-manifest").mkdir()
    (root / "bad-manifest" / "manifest.json").write_text("{not json")
    shutil.copytree(vae_run, root / "truncated-ckpt")
    data = (root / "truncated-ckpt" / "checkpoint.safetensors").read_bytes()
    (root / "truncated-ckpt" / "checkpoint.safetensors").write_bytes(data[: len(data) // 2])
    shutil.copytree(vae_run, root / "no-ckpt")
    (root / "no-ckpt" / "checkpoint.safetensors").unlink()
    (root / "no-manifest").mkdir()
    (root / "post-out").mkdir()
    save_image(good, root / "post-out" / "good.png")
    return World(root, vae_run, gan_run)


Args = Callable[[World], list[str]]

#: (id, arguments, text the error line must contain); {vae}/{gan}/{root} are filled in
CASES: list[tuple[str, str, str]] = [
    # unknown names, keys and values
    ("unknown-model", "run --model nope --out {root}/o", "nope"),
    ("unknown-model-key", "run --model vae:nosuch=1 --out {root}/o", "nosuch"),
    ("bad-int", "run --model vae:image_size=abc --out {root}/o", "image_size"),
    ("negative-size", "run --model vae:image_size=-5 --out {root}/o", "image_size"),
    ("nan-float-model", "run --model vae:beta=nan --out {root}/o", "beta"),
    ("inf-float-model", "run --model vae:lr=inf --out {root}/o", "lr"),
    ("minus-inf-float", "run --model gan:lr_g=-inf --out {root}/o", "lr_g"),
    ("unknown-data", "run --data nope --out {root}/o", "nope"),
    ("unknown-data-key", "run --data shapes:colour=1 --out {root}/o", "colour"),
    ("unknown-post", "run --post nope --out {root}/o", "nope"),
    ("unknown-post-key", "post {root}/good.png --post restore:strenght=1 --out {root}/o", "strenght"),
    ("nan-post", "post {root}/good.png --post restore:strength=nan --out {root}/o", "strength"),
    ("inf-post", "post {root}/good.png --post restore:strength=inf --out {root}/o", "strength"),
    ("minus-inf-post", "post {root}/good.png --post restore:sigma=-inf --out {root}/o", "sigma"),
    ("bad-choice", "post {root}/good.png --post restore:task=paint --out {root}/o", "task"),
    ("bad-bool", "run --model vae:loss=\"bernoulli:binarize=perhaps\" --out {root}/o", "binarize"),
    ("unknown-loss", "run --model gan:loss=nope --out {root}/o", "nope"),
    ("unknown-device", "run --device tpu --out {root}/o", "tpu"),
    ("cuda-missing", "run --device cuda:3 --out {root}/o", "cuda"),
    ("fp16-on-cpu", "run --device cpu --precision fp16 --out {root}/o", "fp16"),
    ("bad-precision", "run --precision fp8 --out {root}/o", "fp8"),
    ("negative-steps", "run --steps -1 --out {root}/o", "--steps"),
    ("zero-batch", "run --batch-size 0 --out {root}/o", "--batch-size"),
    ("describe-unknown", "describe nopenope", "nopenope"),
    ("list-float-nan", "run --data patches:path={root},scales=1+nan --out {root}/o", "scales"),
    ("unknown-command", "trian", "trian"),
    ("unknown-option", "run --stpes 3", "--stpes"),
    ("holdout-too-big", "run --data shapes:count=4,holdout=9 --out {root}/o", "holdout"),
    ("split-test-no-holdout", "run --data shapes:count=4,split=test --out {root}/o", "holdout"),
    # data folders
    ("folder-no-path", "run --data folder --out {root}/o", "path"),
    ("folder-missing", "run --data folder:path={root}/nowhere --out {root}/o", "nowhere"),
    ("folder-is-a-file", "run --data folder:path={root}/notes.txt --out {root}/o", "not a folder"),
    ("folder-empty", "run --data folder:path={root}/empty-dir --out {root}/o", "empty-dir"),
    ("folder-unreadable", "run --data folder:path={root}/bad-images --out {root}/o", "broken.png"),
    ("mnist-missing", "run --data mnist:path={root}/nowhere --out {root}/o", "nowhere"),
    ("patches-no-path", "run --model restorer-trainer --data patches --out {root}/o", "path"),
    # config files
    ("config-missing", "run -c {root}/missing.toml --out {root}/o", "missing.toml"),
    ("config-binary", "run -c {root}/binary.toml --out {root}/o", "binary.toml"),
    ("config-syntax", "run -c {root}/syntax.toml --out {root}/o", "syntax.toml"),
    ("config-unknown-key", "run -c {root}/unknown-key.toml --out {root}/o", "stepz"),
    ("config-table", "run -c {root}/table.toml --out {root}/o", "[model]"),
    ("config-bad-type", "run -c {root}/bad-type.toml --out {root}/o", "steps"),
    ("config-is-folder", "run -c {root}/empty-dir --out {root}/o", "empty-dir"),
    # images for post
    ("post-zero-byte", "post {root}/zero.png --post restore --out {root}/o", "zero.png"),
    ("post-text-as-jpg", "post {root}/text.jpg --post restore --out {root}/o", "text.jpg"),
    ("post-truncated", "post {root}/truncated.png --post restore --out {root}/o", "truncated.png"),
    ("post-broken-folder", "post {root}/bad-images --post restore --out {root}/o", "broken.png"),
    ("post-missing-file", "post {root}/nothere.png --post restore --out {root}/o", "nothere.png"),
    ("post-empty-folder", "post {root}/empty-dir --post restore --out {root}/o", "no image files"),
    ("post-no-chain", "post {root}/good.png --out {root}/o", "--post"),
    ("post-would-overwrite", "post {root}/good.png --post restore --out {root}/post-out", "--overwrite"),
    ("post-out-under-a-file", "post {root}/good.png --post restore --out {root}/notes.txt/sub", "notes.txt"),
    ("post-out-is-a-file", "post {root}/good.png --post restore --out {root}/notes.txt", "notes.txt"),
    ("post-out-read-only", "post {root}/good.png --post restore --out /sys/genart-out", "/sys/genart-out"),
    ("post-pickled-weights", "post {root}/good.png --post restore:task=denoise,weights={root}/evil.pt "
                             "--out {root}/o", "evil.pt"),
    ("post-foreign-weights", "post {root}/good.png --post restore:task=denoise,weights={root}/foreign.safetensors "
                             "--out {root}/o", "foreign.safetensors"),
    ("post-missing-mask", "post {root}/good.png --post restore:task=inpaint,mask={root}/nomask.png "
                          "--out {root}/o", "nomask.png"),
    ("style-pickled-encoder", "post {root}/good.png --post style:image={root}/good.png,method=gram,encoder=vgg19,"
                              "encoder_weights={root}/evil.pt --out {root}/o", "evil.pt"),
    ("style-missing-image", "post {root}/good.png --post style:image={root}/nostyle.png --out {root}/o",
     "nostyle.png"),
    # run folders and checkpoints
    ("sample-missing-run", "sample {root}/nowhere", "nowhere"),
    ("sample-not-a-run", "sample {root}/no-manifest", "no-manifest"),
    ("sample-bad-manifest", "sample {root}/bad-manifest", "manifest.json"),
    ("sample-other-model", "sample {root}/vae-with-gan-ckpt", "gan"),
    ("sample-other-size", "sample {root}/vae-other-size", "latent"),
    ("sample-truncated-ckpt", "sample {root}/truncated-ckpt", "checkpoint.safetensors"),
    ("sample-no-ckpt", "sample {root}/no-ckpt", "checkpoint.safetensors"),
    ("resume-other-model", "run --resume {root}/vae-with-gan-ckpt --steps 3", "gan"),
    ("resume-other-size", "run --resume {root}/vae-other-size --steps 3", "latent"),
    ("resume-no-ckpt", "run --resume {root}/no-ckpt --steps 3", "checkpoint.safetensors"),
    ("resume-finished-with-post", "run --resume {vae} --post upsample:scale=2", "--post"),
    ("resume-finished", "run --resume {vae}", "finished"),
    ("resume-fewer-steps", "run --resume {vae} --steps 1", "--steps"),
    ("resume-other-seed", "run --resume {vae} --steps 3 --seed 9", "--seed"),
    ("resume-other-model-option", "run --resume {vae} --steps 3 --model gan", "--model"),
    ("resume-other-data", "run --resume {vae} --steps 3 --data shapes:count=9", "--data"),
    ("resume-other-batch", "run --resume {vae} --steps 3 --batch-size 7", "--batch-size"),
    ("resume-and-checkpoint", "run --resume {vae} --checkpoint {vae}", "--checkpoint"),
    ("checkpoint-other-model", "run --checkpoint {gan} --model vae:image_size=8,latent=2,width=4 --out {root}/o",
     "gan"),
    ("checkpoint-other-size", "run --checkpoint {vae} --model vae:image_size=8,latent=5,width=4 --out {root}/o",
     "latent"),
    ("checkpoint-text-file", "run --checkpoint {root}/checkpoint.txt --out {root}/o", "checkpoint.txt"),
    ("checkpoint-pickle", "run --checkpoint {root}/evil.pt --out {root}/o", "evil.pt"),
    ("checkpoint-plain-pt", "run --checkpoint {root}/plain.pt --out {root}/o", "plain.pt"),
    ("checkpoint-empty-folder", "run --checkpoint {root}/empty-dir --out {root}/o", "empty-dir"),
    # memory
    ("huge-image-size", "run --model vae:image_size=100000 --out {root}/o", "image_size"),
    ("huge-batch", "run --model vae:image_size=8,latent=2,width=4 --data shapes:count=4 --batch-size 100000000 "
                   "--out {root}/o", "--batch-size"),
    ("huge-sample", "sample {vae} -n 100000000000 --out {root}/o", "-n"),
    # output places
    ("run-out-is-a-file", "run --out {root}/notes.txt", "notes.txt"),
    ("run-out-under-a-file", "run --model vae:image_size=8,latent=2,width=4 --data shapes:count=4 --steps 1 "
                             "--out {root}/notes.txt/sub", "notes.txt"),
    ("run-out-read-only", "run --model vae:image_size=8,latent=2,width=4 --data shapes:count=4 --steps 1 "
                          "--out /sys/genart-runs", "/sys/genart-runs"),
    ("sample-would-overwrite", "sample {vae} --out {root}/post-out", "--overwrite"),
]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("case", "command", "culprit"), CASES, ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_and_loses_nothing(app: App, world: World, case: str, command: str,
                                                 culprit: str) -> None:
    import shlex

    args = shlex.split(command.format(root=world.root, vae=world.vae_run, gan=world.gan_run))
    shutil.rmtree(world.root / "o", ignore_errors=True)
    before = snapshot(world.root)
    result = CliRunner().invoke(make_cli(app), args, catch_exceptions=True)
    output = result.output  # stdout and stderr, interleaved
    assert result.exit_code not in (0, None), output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith(("genart: error:", "Error:"))]
    assert len(errors) == 1, output
    if os.environ.get("SHOW_ERRORS"):
        print(f"\n{case}: exit {result.exit_code}: {errors[0]}")
    assert culprit.lower() in errors[0].lower(), f"{case}: {errors[0]!r} does not name {culprit!r}"
    after = snapshot(world.root)
    lost = [name for name, data in before.items() if after.get(name) != data]
    assert not lost, f"{case}: changed or lost {lost}"
    shutil.rmtree(world.root / "o", ignore_errors=True)
