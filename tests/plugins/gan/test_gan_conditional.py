"""The class-conditional gan: conditional BatchNorm in G, the projection discriminator, labelled steps,
sampling a class, exact resume and determinism, checkpoints that say how many classes they were trained with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from genart import CheckpointMismatch, UsageError
from genart.contract.plugins import App
from genart.loop.checkpoints import checkpoint_state, restore_checkpoint
from genart.records.runs import save_checkpoint
from genart.testing import build_context
from genart_gan.nets import ClassNorm, Discriminator, Generator

TINY = "gan:image_size=28,channels=1,width=4,latent=8"
NAMES = ["zero", "one", "two"]


def build(app: App, spec: str = TINY, names: list[str] | None = NAMES) -> Any:
    torch.manual_seed(0)
    model = build_context(app).build("model", spec)
    if names:
        model.set_classes(names)
    return model


def labelled_data(n: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose brightness is their class (0 black, 1 grey, 2 white) with a little noise."""
    labels = torch.arange(n) % 3
    generator = torch.Generator().manual_seed(3)
    images = labels.float().view(n, 1, 1, 1) / 2 + 0.1 * torch.randn(n, 1, 28, 28, generator=generator)
    return (images.clamp(0, 1) * 255).round().to(torch.uint8), labels


def run_steps(model: Any, data: torch.Tensor, labels: torch.Tensor, start: int, stop: int, batch: int = 6) -> None:
    for step in range(start, stop):
        index = (torch.arange(batch) + step * batch) % data.shape[0]
        model.train_step_labelled(data[index].float() / 255, labels[index])


def one_hot(labels: list[int], k: int = 3) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(labels), k).float()


# -- the networks ----------------------------------------------------------------------------------
def test_unconditional_nets_have_no_class_layers() -> None:
    g, d = Generator(8, 4, 28, 1, blocks=1), Discriminator(4, 28, 1, True)
    assert not any(isinstance(m, ClassNorm) for m in g.modules()) and d.embed is None
    assert not any("gain" in key or "embed" in key for key in [*g.state_dict(), *d.state_dict()])


def test_class_norm_picks_and_blends_the_class_gain_and_bias() -> None:
    norm = ClassNorm(2, 3)
    with torch.no_grad():
        norm.gain.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
        norm.bias.copy_(torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))
    x = torch.randn(4, 2, 3, 3)
    plain = torch.nn.functional.batch_norm(x, None, None, training=True)
    out = norm(x, torch.cat([one_hot([2, 0]), torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])]))
    def expected(i: int, gain: list[float], bias: list[float]) -> torch.Tensor:
        return plain[i] * torch.tensor(gain).view(2, 1, 1) + torch.tensor(bias).view(2, 1, 1)

    assert torch.allclose(out[0], expected(0, [5.0, 6.0], [4.0, 5.0]), atol=1e-5)
    assert torch.allclose(out[1], expected(1, [1.0, 2.0], [0.0, 1.0]), atol=1e-5)
    assert torch.allclose(out[2], expected(2, [2.0, 3.0], [1.0, 2.0]), atol=1e-5)  # half of class 0, half of 1


def test_conditional_generator_needs_and_uses_the_class() -> None:
    torch.manual_seed(0)
    g = Generator(8, 4, 28, 1, blocks=1, classes=3).eval()
    z = torch.randn(2, 8)
    with pytest.raises(ValueError, match="3 classes"):
        g(z)
    a, b = g(z, one_hot([0, 0])), g(z, one_hot([1, 1]))
    assert a.shape == (2, 1, 28, 28) and not torch.allclose(a, b)
    assert sum(isinstance(m, ClassNorm) for m in g.modules()) == 1 + 2 * 1 + 2  # project, 2 grids x (block + up)


def test_projection_discriminator_adds_the_class_embedding_times_the_pooled_features() -> None:
    torch.manual_seed(0)
    d = Discriminator(4, 28, 1, spectral_norm=False, classes=3)
    x = torch.randn(2, 1, 28, 28)
    features = d.body(x)
    assert d.embed is not None
    pooled = features.view(2, d.embed.out_features, -1).sum(2)  # channels (with the minibatch std) over the grid
    expected = d.head(features).squeeze(1) + (pooled * d.embed.weight[:, [2, 0]].T).sum(1)
    assert torch.allclose(d(x, one_hot([2, 0])), expected, atol=1e-5)
    assert not torch.allclose(d(x, one_hot([2, 0])), d(x, one_hot([1, 1])))


# -- the model -------------------------------------------------------------------------------------
def test_labelled_steps_train_every_class_part(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},r1_every=1")
    before = {k: v.clone() for k, v in model.g.state_dict().items()}
    data, labels = labelled_data()
    logs = model.train_step_labelled(data[:6].float() / 255, labels[:6])
    assert {"d_loss", "g_loss", "r1"} <= logs.keys() and all(torch.isfinite(torch.tensor(v)) for v in logs.values())
    changed = [k for k, v in model.g.state_dict().items() if not torch.equal(v, before[k])]
    assert any(".gain" in k for k in changed) and any(".bias" in k for k in changed)
    d_embed = next(p for name, p in model.d.named_parameters() if name.startswith("embed."))
    assert d_embed.grad is not None and d_embed.grad.abs().sum() > 0


@pytest.mark.parametrize("loss", ["ns", "hinge", "lsgan", "wgan-gp"])
def test_every_loss_trains_conditionally(builtin_app: App, loss: str) -> None:
    model = build(builtin_app, f"{TINY},loss={loss},categories=2")
    data, labels = labelled_data()
    run_steps(model, data, labels, 0, 2)
    assert model.step == 2


def test_sampling_a_class_is_deterministic_and_follows_the_label(builtin_app: App) -> None:
    model = build(builtin_app)
    a = model.sample_labelled(torch.tensor([0, 1, 2]), torch.Generator().manual_seed(4))
    b = model.sample_labelled(torch.tensor([0, 1, 2]), torch.Generator().manual_seed(4))
    c = model.sample_labelled(torch.tensor([1, 1, 1]), torch.Generator().manual_seed(4))
    assert a.shape == (3, 1, 28, 28) and torch.equal(a, b)
    assert torch.equal(a[1], c[1]) and not torch.allclose(a[0], c[0])
    # a blend of one class with itself is that class; a blend between two is neither
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(4))
    assert torch.equal(model.decode_labelled(z, one_hot([0, 1, 2])), a)
    mixed = model.decode_labelled(z[:1], torch.tensor([[0.5, 0.5, 0.0]]))
    assert not torch.allclose(mixed, a[:1]) and not torch.allclose(mixed, c[:1])


def test_plain_sample_and_decode_draw_every_class_from_the_latent(builtin_app: App) -> None:
    model = build(builtin_app)
    z = torch.randn(300, 8, generator=torch.Generator().manual_seed(1))
    from genart_gan.nets import category_of

    classes = category_of(z[:, -1:], 3)
    assert set(classes.tolist()) == {0, 1, 2}
    assert torch.equal(model.decode(z[:4]), model.decode_labelled(z[:4], one_hot(classes[:4].tolist())))
    assert torch.equal(model.sample(4, torch.Generator().manual_seed(1)), model.decode(z[:4]))


def test_a_label_out_of_range_is_a_one_line_error_naming_the_classes(builtin_app: App) -> None:
    model = build(builtin_app)
    with pytest.raises(UsageError, match="label 3 is not one of this GAN's 3 classes .*zero, one, two"):
        model.sample_labelled(torch.tensor([0, 3]), torch.Generator().manual_seed(0))
    unconditional = build(builtin_app, names=None)
    with pytest.raises(UsageError, match="without labels"):
        unconditional.decode_labelled(torch.zeros(1, 8), one_hot([0]))


def test_labelled_training_is_deterministic(builtin_app: App) -> None:
    data, labels = labelled_data()
    runs = []
    for _ in range(2):
        model = build(builtin_app, f"{TINY},r1_every=2")
        torch.manual_seed(5)
        run_steps(model, data, labels, 0, 3)
        runs.append(model.state_dict())
    for part in ("g", "d", "g_ema"):
        for key, value in runs[0][part].items():
            assert torch.equal(value, runs[1][part][key]), f"{part}.{key}"


@pytest.mark.parametrize("options", ["categories=0", "categories=3,ada_target=0.1"])
def test_labelled_resume_is_exact(builtin_app: App, tmp_path: Path, options: str) -> None:
    spec = f"{TINY},r1_every=2,ema_warmup=1,{options}"
    data, labels = labelled_data()
    straight = build(builtin_app, spec)
    torch.manual_seed(5)
    run_steps(straight, data, labels, 0, 4)

    first = build(builtin_app, spec)
    torch.manual_seed(5)
    run_steps(first, data, labels, 0, 2)
    save_checkpoint(tmp_path / "a.safetensors", checkpoint_state(first, 2, 5))
    torch.manual_seed(123)  # disturb the RNG: the checkpoint must restore it
    resumed = build(builtin_app, spec)
    assert restore_checkpoint(resumed, tmp_path / "a.safetensors") == 2
    run_steps(resumed, data, labels, 2, 4)

    for part in ("g", "d", "g_ema"):
        for key, value in straight.state_dict()[part].items():
            assert torch.equal(value, resumed.state_dict()[part][key]), f"{part}.{key}"
    assert straight.state_dict()["augment"] == resumed.state_dict()["augment"]


def test_checkpoint_and_model_must_agree_on_the_classes(builtin_app: App) -> None:
    conditional, unconditional = build(builtin_app), build(builtin_app, names=None)
    with pytest.raises(CheckpointMismatch, match="trained with 3 classes, the model is set up for no labels"):
        build(builtin_app, names=None).load_state_dict(conditional.state_dict())
    with pytest.raises(CheckpointMismatch, match="trained with no labels, the model is set up for 3 classes"):
        build(builtin_app).load_state_dict(unconditional.state_dict())
    with pytest.raises(CheckpointMismatch, match="3 classes, the model is set up for 2 classes"):
        build(builtin_app, names=["a", "b"]).load_state_dict(conditional.state_dict())
    again = build(builtin_app)
    again.load_state_dict(conditional.state_dict())  # the same classes load
    z = torch.randn(2, 8)
    assert torch.equal(again.decode(z), conditional.decode(z))


def test_the_gan_learns_which_class_is_which(builtin_app: App) -> None:
    """Three classes told apart only by brightness: after a short run, class 2 is drawn brighter than class 0."""
    model = build(builtin_app, f"{TINY},augment=none,r1_gamma=0,lr_g=2e-3,lr_d=2e-3")
    data, labels = labelled_data(24)
    torch.manual_seed(0)
    run_steps(model, data, labels, 0, 120, batch=12)
    generator = torch.Generator().manual_seed(0)
    means = [float(model.sample_labelled(torch.full((16,), k), generator).mean()) for k in range(3)]
    assert means[0] + 0.2 < means[2], means


# -- through the core ------------------------------------------------------------------------------
def test_the_kit_accepts_the_conditional_gan(builtin_app: App) -> None:
    from genart import Conditional, ConditionalDecoder
    from genart.testing import check_conditional_model

    model = build(builtin_app, names=None)
    assert isinstance(model, Conditional) and isinstance(model, ConditionalDecoder)
    check_conditional_model(model, NAMES)


def test_the_core_loop_trains_on_labels_and_resumes_exactly(builtin_app: App, tmp_path: Path) -> None:
    from genart.loop.train import TrainConfig, train

    data, labels = labelled_data()
    config = TrainConfig(steps=4, batch_size=4, seed=5, checkpoint_every=0, progress=False)
    device = torch.device("cpu")
    straight = build(builtin_app, f"{TINY},r1_every=2")
    torch.manual_seed(5)
    train(straight, data, config, device=device, checkpoint_path=None, labels=labels)

    first = build(builtin_app, f"{TINY},r1_every=2")
    torch.manual_seed(5)
    half = TrainConfig(steps=2, batch_size=4, seed=5, checkpoint_every=0, progress=False)
    train(first, data, half, device=device, checkpoint_path=tmp_path / "a.safetensors", labels=labels)
    torch.manual_seed(123)
    resumed = build(builtin_app, f"{TINY},r1_every=2")  # told its classes before the checkpoint, as the core does
    step = restore_checkpoint(resumed, tmp_path / "a.safetensors")
    train(resumed, data, config, device=device, checkpoint_path=None, start_step=step, labels=labels)
    for part in ("g", "d", "g_ema"):
        for key, value in straight.state_dict()[part].items():
            assert torch.equal(value, resumed.state_dict()[part][key]), f"{part}.{key}"


def test_cli_trains_a_conditional_gan_on_labelled_data(genart_cli: Any, builtin_app: App, tmp_path: Path) -> None:
    import json

    result = genart_cli(["run", "--model", "gan:image_size=28,width=4,latent=8", "--data",
                         "shapes:count=16,labels=largest", "--steps", "3", "--batch-size", "4", "-n", "4",
                         "--out", str(tmp_path), "-q", "--device", "cpu"], app=builtin_app)
    assert result.exit_code == 0, result.output
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["labels"]["conditional"] is True
    assert manifest["labels"]["names"] == ["circle", "square", "triangle", "bar"]
    from genart.api import load_run_model

    model, _, _ = load_run_model(builtin_app, run, "cpu")
    assert model.class_names == ["circle", "square", "triangle", "bar"]
    assert model.sample_labelled(torch.tensor([3, 0]), torch.Generator().manual_seed(0)).shape == (2, 3, 28, 28)
