"""The gan model and adversarial losses: contracts, stabilisers, exact resume, third-party losses, CLI errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import genart
from genart import Scored
from genart.contract.plugins import App
from genart.loop.checkpoints import checkpoint_state, restore_checkpoint
from genart.loop.train import TrainConfig, train
from genart.records.runs import save_checkpoint
from genart.testing import build_context, check_model, make_tiny_images
from genart_gan.model import blocks_in
from genart_gan.nets import MinibatchStd

TINY = "gan:image_size=28,channels=1,width=4,latent=8"


def build(app: App, spec: str) -> Any:
    torch.manual_seed(0)
    return build_context(app).build("model", spec)


def tiny_data(n: int = 8, channels: int = 1, size: int = 28) -> torch.Tensor:
    return (make_tiny_images(n, channels, size, seed=3) * 255).round().to(torch.uint8)


@pytest.mark.parametrize("loss", ["ns", "hinge", "lsgan", "wgan-gp"])
def test_contract_every_loss(builtin_app: App, loss: str) -> None:
    check_model(build(builtin_app, f"{TINY},loss={loss},r1_every=1"), steps=1, batch_size=4)


@pytest.mark.parametrize("options", ["augment=none,spectral_norm=false,upsample=nearest",
                                     "augment=color,spectral_norm=true",
                                     "augment=translation+cutout,spectral_norm=false,r1_gamma=0,ema=0"])
def test_contract_stabilisers_on_and_off(builtin_app: App, options: str) -> None:
    check_model(build(builtin_app, f"{TINY},{options}"), steps=1, batch_size=4)


def test_contract_colour_and_sizes(builtin_app: App) -> None:
    model = build(builtin_app, "gan:image_size=32,channels=3,width=4,latent=8")
    assert model.image_shape == (3, 32, 32)
    check_model(model, steps=1, batch_size=4)
    for size in (28, 44, 64, 128):
        model = build(builtin_app, f"gan:image_size={size},channels=3,width=2,latent=4")
        out = model.sample(2, torch.Generator().manual_seed(0))
        assert out.shape == (2, 3, size, size)
        assert model.d(out * 2 - 1).shape == (2,)


def test_lazy_r1_runs_every_k_steps(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},r1_every=2,r1_gamma=1")
    batch = make_tiny_images(2, 1, 28)
    with_r1 = ["r1" in model.train_step(batch) for _ in range(5)]
    assert with_r1 == [True, False, True, False, True]
    off = build(builtin_app, f"{TINY},r1_gamma=0")
    assert not any("r1" in off.train_step(batch) for _ in range(2))


def test_r1_penalty_is_the_squared_gradient_norm(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},augment=none")
    model.d.eval()  # no power iteration between the two calls
    real = make_tiny_images(3, 1, 28) * 2 - 1
    x = real.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model.d(x).sum(), x)
    assert torch.allclose(model.r1_penalty(real), grad.pow(2).flatten(1).sum(1).mean(), rtol=1e-4)


def test_ema_differs_from_g_and_is_what_sample_uses(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},ema=0.9,ema_warmup=1")
    batch = make_tiny_images(4, 1, 28)
    for _ in range(4):
        model.train_step(batch)
    g = torch.nn.utils.parameters_to_vector(model.g.parameters())
    ema = torch.nn.utils.parameters_to_vector(model.g_ema.parameters())
    assert not torch.allclose(g, ema), "EMA should lag behind G"
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        from_ema = (model.g_ema.eval()(z) + 1) / 2
        from_g = (model.g.eval()(z) + 1) / 2
    sampled = model.sample(3, torch.Generator().manual_seed(1))
    assert torch.allclose(sampled, from_ema.clamp(0, 1))
    assert not torch.allclose(sampled, from_g.clamp(0, 1))
    assert torch.equal(model.decode(z), sampled)


def test_sampling_is_deterministic_and_seed_dependent(builtin_app: App) -> None:
    model = build(builtin_app, TINY)
    model.train_step(make_tiny_images(4, 1, 28))
    a = model.sample(4, torch.Generator().manual_seed(7))
    b = model.sample(4, torch.Generator().manual_seed(7))
    c = model.sample(4, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert model.latent_shape == (8,) and model.decode(torch.zeros(2, 8)).shape == (2, 1, 28, 28)


def test_augmentation_is_applied_to_real_and_fake_alike() -> None:
    from genart_gan.augment import augment, cutout, translation

    x = torch.rand(6, 3, 16, 16) * 2 - 1
    torch.manual_seed(0)
    out = augment(x, ("color", "translation", "cutout"))
    assert out.shape == x.shape and not torch.equal(out, x)
    shifted = translation(x)
    assert shifted.shape == x.shape
    holes = (cutout(torch.ones(4, 1, 16, 16)) == 0).flatten(1).sum(1)
    assert (holes > 0).all() and (holes <= 64).all()
    x.requires_grad_(True)
    augment(x, ("color", "translation", "cutout")).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("options", ["categories=0", "categories=3"])
def test_resume_is_exact(builtin_app: App, tmp_path: Path, options: str) -> None:
    spec = f"{TINY},r1_every=2,ema_warmup=1,{options}"
    data = tiny_data(8)
    config = TrainConfig(steps=4, batch_size=4, seed=5, checkpoint_every=0, progress=False)
    device = torch.device("cpu")

    straight = build(builtin_app, spec)
    torch.manual_seed(5)
    train(straight, data, config, device=device, checkpoint_path=None)

    first = build(builtin_app, spec)
    torch.manual_seed(5)
    half = TrainConfig(steps=2, batch_size=4, seed=5, checkpoint_every=0, progress=False)
    train(first, data, half, device=device, checkpoint_path=tmp_path / "a.safetensors")
    torch.manual_seed(123)  # disturb the RNG: the checkpoint must restore it
    resumed = build(builtin_app, spec)
    step = restore_checkpoint(resumed, tmp_path / "a.safetensors")
    assert step == 2
    train(resumed, data, config, device=device, checkpoint_path=None, start_step=step)

    for key, value in straight.state_dict()["g_ema"].items():
        assert torch.equal(value, resumed.state_dict()["g_ema"][key]), key
    for part in ("g", "d"):
        for key, value in straight.state_dict()[part].items():
            assert torch.equal(value, resumed.state_dict()[part][key]), f"{part}.{key}"
    assert resumed.step == straight.step == 4
    for key in ("p", "sum", "count"):
        assert straight.state_dict()["augment"][key] == resumed.state_dict()["augment"][key], key


def test_adaptive_augmentation_follows_the_overfitting_signal(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},ada_images=100")
    assert model.aug_p == 0.0
    model.train_step(make_tiny_images(4, 1, 28))
    assert model.ada_count == 4, "only the real batch of the D step is tallied"
    model.step, model.ada_sum, model.ada_count = 4, 10.0, 10  # r_t = 1 > 0.6: D overfits, augment more
    model.update_augment_p()
    assert model.aug_p == pytest.approx(0.1) and model.ada_count == 0
    model.step, model.ada_sum, model.ada_count = 8, -10.0, 10  # r_t = -1: augment less, never below 0
    model.update_augment_p()
    model.step, model.ada_sum, model.ada_count = 12, -10.0, 10
    model.update_augment_p()
    assert model.aug_p == 0.0
    fixed = build(builtin_app, f"{TINY},ada_target=0")
    fixed.step, fixed.ada_sum, fixed.ada_count = 4, -10.0, 10
    fixed.update_augment_p()
    assert fixed.aug_p == 1.0, "ada_target=0 always augments"
    for share in (0.5, 1.0):  # partial and full augmentation both train
        model.aug_p = share
        losses = model.train_step(make_tiny_images(4, 1, 28))
        assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())


def test_categories_are_equally_likely_and_come_from_the_latent() -> None:
    from genart_gan.nets import category_of

    z = torch.randn(50_000, 3, generator=torch.Generator().manual_seed(0))
    shares = torch.bincount(category_of(z, 10), minlength=10) / z.shape[0]
    assert shares.min() > 0.09 and shares.max() < 0.11, shares
    assert torch.equal(category_of(z, 10), category_of(z.clone(), 10)), "the code is a function of z"
    assert (category_of(z, 10).diff()[z[:, 0].diff().abs() < 1e-4] == 0).all(), "close z, same category"


def test_latents_drawn_in_a_category_carry_that_category() -> None:
    from genart_gan.nets import category_of, latents_in_category

    generator = torch.Generator().manual_seed(0)
    for category in range(7):
        z = latents_in_category(200, 4, category, 7, generator)
        assert z.shape == (200, 4) and (category_of(z, 7) == category).all()


def test_categorical_code_trains_g_and_the_q_head(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},categories=3,augment=none")
    assert model.d.classify.out_features == 3 and model.g.project[0].in_features == 8 + 3
    q_before = model.d.classify.weight.detach().clone()
    code_columns = model.g.project[0].weight.detach()[:, 8:].clone()
    logs = model.train_step(make_tiny_images(4, 1, 28))
    assert "info" in logs and logs["info"] > 0
    assert not torch.equal(q_before, model.d.classify.weight), "D's Q head learns the code"
    assert not torch.equal(code_columns, model.g.project[0].weight[:, 8:]), "G learns to use the code"
    kept = [name for name, value in vars(model).items() if isinstance(value, torch.Tensor) and value.grad_fn]
    assert not kept, f"no graph is kept between steps: {kept}"
    off = build(builtin_app, TINY)
    assert off.d.classify is None and "info" not in off.train_step(make_tiny_images(4, 1, 28))


def test_categories_work_with_a_loss_that_scores_its_own_copy_of_the_fakes(builtin_app: App,
                                                                          register_plugin: Any) -> None:
    """The model scores the fake batch itself, so how a loss calls ``d`` cannot starve the categorical code.

    (This replaces a test that a loss scoring only a copy of the fakes was a clear error with categories:
    when D's features of the fakes were caught by the identity of the tensor the loss passed to ``d``, such
    a loss left the code loss without them. Now no loss can.)"""
    class CopyingLoss(CountingLoss):
        def g_loss(self, d: Any, fake: Scored) -> torch.Tensor:
            return (d(fake.images.clone()) - 1).abs().mean()  # D on a copy, ignoring the scores it is handed

    class ThirdParty:
        @genart.hookimpl
        def register_losses(self, register: Any) -> None:
            register("copying", lambda params, context: CopyingLoss(), description="test", tags=("gan",))

    register_plugin(ThirdParty(), "copying-loss", app=builtin_app)
    model = build(builtin_app, f"{TINY},loss=copying,categories=3,augment=none")
    code_columns = model.g.project[0].weight.detach()[:, 8:].clone()
    logs = model.train_step(make_tiny_images(4, 1, 28))
    assert logs["info"] > 0 and torch.isfinite(torch.tensor(logs["g_loss"]))
    assert not torch.equal(code_columns, model.g.project[0].weight[:, 8:]), "G learns to use the code"


def test_checkpoint_decides_the_categorical_code(builtin_app: App) -> None:
    """A run trained without the code (or before it existed) still loads, samples and resumes as it was."""
    trained = build(builtin_app, f"{TINY},categories=0")
    trained.train_step(make_tiny_images(4, 1, 28))
    state = trained.state_dict()
    expected = trained.sample(3, torch.Generator().manual_seed(1))
    reloaded = build(builtin_app, f"{TINY},categories=5")
    reloaded.load_state_dict(state)
    assert reloaded.params.categories == 0 and reloaded.d.classify is None
    assert torch.equal(reloaded.sample(3, torch.Generator().manual_seed(1)), expected)
    reloaded.train_step(make_tiny_images(4, 1, 28))  # and it trains on


@pytest.mark.parametrize(("trained_blocks", "built_blocks"), [(0, 1), (2, 0)])
def test_checkpoint_decides_g_depth(builtin_app: App, trained_blocks: int, built_blocks: int) -> None:
    """A run from before G had ``blocks`` (0) loads into a model built with more, samples and resumes as it was."""
    trained = build(builtin_app, f"{TINY},blocks={trained_blocks}")
    trained.train_step(make_tiny_images(4, 1, 28))
    expected = trained.sample(3, torch.Generator().manual_seed(1))
    reloaded = build(builtin_app, f"{TINY},blocks={built_blocks}")
    reloaded.load_state_dict(trained.state_dict())
    assert reloaded.params.blocks == trained_blocks
    assert torch.equal(reloaded.sample(3, torch.Generator().manual_seed(1)), expected)
    reloaded.train_step(make_tiny_images(4, 1, 28))


@pytest.mark.parametrize(("recorded", "built"), [(None, 4), (4, 0), (0, 2)])
def test_checkpoint_decides_the_minibatch_std_group(builtin_app: App, recorded: int | None, built: int) -> None:
    """The group leaves no trace in the weights, so the checkpoint records it; one from before it was
    recorded (None) was trained on the whole batch (0) and resumes so, whatever today's default is."""
    trained = build(builtin_app, f"{TINY},mbstd_group={recorded or 0}")
    trained.train_step(make_tiny_images(4, 1, 28))
    state = trained.state_dict()
    if recorded is None:
        del state["architecture"]
    reloaded = build(builtin_app, f"{TINY},mbstd_group={built}")
    reloaded.load_state_dict(state)
    groups = {m.group for m in reloaded.d.modules() if isinstance(m, MinibatchStd)}
    assert reloaded.params.mbstd_group == (recorded or 0) and groups == {recorded or 0}
    assert reloaded.state_dict()["architecture"] == {"mbstd_group": recorded or 0}


def test_g_blocks_add_a_conv_at_every_grid_below_the_image_size(builtin_app: App) -> None:
    grids = []
    model = build(builtin_app, f"{TINY},blocks=2")
    hooks = [layer.register_forward_hook(lambda module, args, out: grids.append(out.shape[-1]))
             for layer in model.g.body if isinstance(layer, torch.nn.Conv2d)]
    model.g.eval()(torch.randn(2, 8))
    for hook in hooks:
        hook.remove()
    assert grids == [7, 7, 14, 14, 28]  # 2 blocks at 7 px and 14 px; the output conv at 28 px


@pytest.mark.parametrize(("size", "expected"), [(28, 2), (32, 2), (36, 0), (64, 0), (128, 0)])
def test_g_depth_by_default_follows_the_image_size(builtin_app: App, size: int, expected: int) -> None:
    """Two blocks where they were measured to help (28-32 px); none at 64 px, where they broke the art run."""
    model = build(builtin_app, f"gan:image_size={size},width=4,latent=8")
    assert model.params.blocks == expected
    assert blocks_in(model.g.state_dict(), model.g.levels) == expected
    assert build(builtin_app, f"gan:image_size={size},width=4,latent=8,blocks=1").params.blocks == 1


def test_checkpoints_from_before_the_head_was_split_off_still_load(builtin_app: App) -> None:
    model = build(builtin_app, TINY)
    model.train_step(make_tiny_images(4, 1, 28))
    state = model.state_dict()
    last = len(model.d.body)
    state["d"] = {(f"body.{last}." + k[5:] if k.startswith("head.") else k): v for k, v in state["d"].items()}
    assert not any(k.startswith("head.") for k in state["d"])
    fresh = build(builtin_app, TINY)  # untrained: differs from the model until the checkpoint is loaded
    fresh.load_state_dict(state)
    x = make_tiny_images(2, 1, 28) * 2 - 1
    assert torch.equal(fresh.d.eval()(x), model.d.eval()(x))


def test_checkpoint_holds_every_part(builtin_app: App, tmp_path: Path) -> None:
    model = build(builtin_app, TINY)
    model.train_step(make_tiny_images(4, 1, 28))
    state = model.state_dict()
    assert {"g", "d", "g_ema", "opt_g", "opt_d", "augment", "counters"} <= set(state)
    save_checkpoint(tmp_path / "c.safetensors", checkpoint_state(model, 1, 0))


class CountingLoss:
    """A third party's adversarial loss: least absolute deviation, counting its calls."""

    def __init__(self) -> None:
        self.calls = {"d": 0, "g": 0}

    def d_loss(self, d: Any, real: Scored, fake: Scored) -> torch.Tensor:
        self.calls["d"] += 1
        return (real.scores - 1).abs().mean() + (fake.scores + 1).abs().mean()

    def g_loss(self, d: Any, fake: Scored) -> torch.Tensor:
        self.calls["g"] += 1
        return (fake.scores - 1).abs().mean()


def test_third_party_loss_works_with_builtin_gan(builtin_app: App, register_plugin: Any) -> None:
    made: list[CountingLoss] = []

    class ThirdParty:
        @genart.hookimpl
        def register_losses(self, register: Any) -> None:
            def factory(params: None, context: Any) -> CountingLoss:
                made.append(CountingLoss())
                return made[-1]

            register("lad", factory, description="least absolute deviation (test)", tags=("gan",))

    register_plugin(ThirdParty(), "third-party-loss", app=builtin_app)
    model = build(builtin_app, f"{TINY},loss=lad")
    check_model(model, steps=2, batch_size=4)
    assert made and made[0].calls["d"] >= 2 and made[0].calls["g"] >= 2


def test_cli_trains_and_samples_a_gan(genart_cli: Any, builtin_app: App, tmp_path: Path) -> None:
    result = genart_cli(["run", "--model", "gan:image_size=28,width=4,latent=8", "--data", "shapes:count=16",
                         "--steps", "3", "--batch-size", "4", "-n", "4", "--out", str(tmp_path), "-q",
                         "--device", "cpu"], app=builtin_app)
    assert result.exit_code == 0, result.output
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert (run / "grid.png").is_file() and (run / "checkpoint.safetensors").is_file()


@pytest.mark.parametrize(("spec", "message"), [
    ("gan:image_size=30", "multiple of 4"),
    ("gan:image_size=256", "multiple of 4 from 28 to 128"),
    ("gan:channels=2", "channels must be 1, 3 or 4"),
    ("gan:loss=nope", "nope"),
    ("gan:loss=bce", "not an adversarial loss"),
    ("gan:augment=flip", "unknown augmentation 'flip'"),
    ("gan:r1_every=0", "r1_every"),
    ("gan:ema=1.5", "ema must be in"),
    ("gan:ada_target=1", "ada_target must be in"),
    ("gan:upsample=bilinear", "upsample"),
    ("gan:widht=3", "width"),
    ("gan:categories=1", "categories must be 0 (off) or at least 2"),
    ("gan:blocks=-1", "blocks must be >= 0"),
    ("gan:mbstd_group=-1", "mbstd_group must be >= 0"),
])
def test_bad_params_give_one_line_errors(genart_cli: Any, builtin_app: App, tmp_path: Path, spec: str,
                                         message: str) -> None:
    result = genart_cli(["run", "--model", spec, "--steps", "1", "--out", str(tmp_path), "-q", "--device", "cpu"],
                        app=builtin_app)
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert message in text and "Traceback" not in text
    assert len(text.splitlines()) == 1, text


def test_trains_under_bf16_autocast(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},loss=wgan-gp,r1_every=1")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        for _ in range(2):
            losses = model.train_step(make_tiny_images(4, 1, 28))
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert model.sample(2, torch.Generator().manual_seed(0)).dtype == torch.float32


@pytest.mark.parametrize("options", ["loss=hinge,r1_every=1", "loss=wgan-gp"])
def test_trains_identically_under_loss_scaling(builtin_app: App, options: str) -> None:
    from genart.testing import check_loss_scaling

    check_loss_scaling(builtin_app, f"{TINY},{options}")



def test_minibatch_std_survives_r1_when_a_feature_barely_varies() -> None:
    """R1 differentiates D's input gradient; where a feature (almost) does not vary across the batch,
    as happens under bf16, the second derivative of a plain std divides by ~0. That turned the MNIST
    benchmark into NaN at step 1233; the floored std keeps it finite."""
    from genart_gan.nets import MinibatchStd

    torch.manual_seed(0)
    for spread in (0.0, 1e-30, 1e-20):
        x = torch.randn(8, 3, 4, 4)
        x[:, 1] = spread * torch.randn(8, 4, 4)
        x.requires_grad_(True)
        out = MinibatchStd()(x)
        (grad,) = torch.autograd.grad((out * torch.randn(out.shape)).sum(), x, create_graph=True)
        (second,) = torch.autograd.grad(grad.pow(2).sum(), x)
        assert torch.isfinite(second).all(), spread
