"""The model post-processor: detection, equality with spandrel's forward pass, tiling, alpha/grey, precision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from spandrel_tiny import TINY

from genart.api import App
from genart.errors import UsageError
from genart.testing import build_context, check_post_processor, make_tiny_images
from genart_models.compat import import_spandrel
from genart_models.runner import WHOLE_IMAGE

ONE_LEVEL = 1 / 255
#: the architectures the issue names, with a restoration one (NAFNet, SCUNet): each saved both ways
NAMED = ["ESRGAN", "Compact", "SwinIR", "HAT", "DAT", "SPAN", "NAFNet", "SCUNet"]


def build(app: App, spec: str) -> Any:
    return build_context(app).build("post", spec)


def spandrel_forward(path: Path, images: torch.Tensor) -> torch.Tensor:
    """spandrel's own loader and call, image by image (on a copy: some models scale their input in place)."""
    descriptor = import_spandrel().ModelLoader().load_from_file(str(path)).eval()
    return torch.cat([descriptor(image[None].clone()) for image in images])


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
@pytest.mark.parametrize("arch", NAMED)
def test_equals_spandrel_tiled_and_untiled(builtin_app: App, model_file: Callable[..., Path], arch: str,
                                           suffix: str) -> None:
    path = model_file(arch, suffix)
    images = make_tiny_images(1, 3, (48, 64), seed=3)
    reference = spandrel_forward(path, images)
    whole = build(builtin_app, f"model:file={path},tile=0")(images)
    assert whole.shape == reference.shape
    assert (whole - reference).abs().max() <= ONE_LEVEL
    if arch in WHOLE_IMAGE:  # image-wide operations: by default such a model is not tiled at all
        assert build(builtin_app, f"model:file={path}").tile >= 1 << 30
    else:
        tiled = build(builtin_app, f"model:file={path},tile=16")(images)
        assert (tiled - whole).abs().max() <= ONE_LEVEL


@pytest.mark.slow
@pytest.mark.parametrize("arch", [a for a, factory in TINY.items() if factory is not None])
def test_every_permissive_architecture_is_detected_and_runs(builtin_app: App, model_file: Callable[..., Path],
                                                            arch: str) -> None:
    """Every architecture of spandrel's main registry (all permissively licensed) that can be built small."""
    path = model_file(arch)
    processor = build(builtin_app, f"model:file={path}")
    assert processor.info.architecture == arch and "permissive" in processor.info.licence
    images = make_tiny_images(1, 3, (64, 64), seed=1)
    out = processor(images)
    assert out.shape == (1, 3, 64 * processor.scale, 64 * processor.scale)
    assert (out - spandrel_forward(path, images)).abs().max() <= ONE_LEVEL


def test_the_registry_is_covered() -> None:
    """A new spandrel architecture must get a tiny configuration (or a reason it has none)."""
    ids = {str(support.architecture.id) for support in import_spandrel().MAIN_REGISTRY.architectures()}
    assert ids == set(TINY)


def test_contract_alpha_and_grey(builtin_app: App, model_file: Callable[..., Path]) -> None:
    processor = build(builtin_app, f"model:file={model_file('Compact')}")
    check_post_processor(processor, sizes=((16, 16), (7, 13), (1, 1)))
    rgba = make_tiny_images(1, 4, 12)
    rgba[:, 3, :, :6] = 0  # a transparent half must stay transparent
    out = processor(rgba)
    assert out.shape == (1, 4, 48, 48) and out[:, 3, :, :20].max() < 0.05
    grey = processor(make_tiny_images(1, 1, 12))
    assert grey.shape == (1, 1, 48, 48)


def test_grey_model_on_colour_images(builtin_app: App, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    net = TINY["Compact"].__class__  # noqa: F841 - only to show the factory exists
    compact = import_spandrel()
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    model = Compact(num_in_ch=1, num_out_ch=1, num_feat=8, num_conv=2, upscale=2)
    path = tmp_path / "grey.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    processor = build(builtin_app, f"model:file={path}")
    assert processor.info.input_channels == 1 and compact is not None
    out = processor(make_tiny_images(1, 3, 10))
    assert out.shape == (1, 3, 20, 20) and torch.equal(out[:, 0], out[:, 1])


def test_scale_disagreeing_and_pins_are_refused(builtin_app: App, model_file: Callable[..., Path]) -> None:
    path = model_file("ESRGAN")
    with pytest.raises(UsageError, match="x4 ESRGAN model; scale=2 disagrees"):
        build(builtin_app, f"model:file={path},scale=2")
    with pytest.raises(UsageError, match="not SwinIR"):
        build(builtin_app, f"model:file={path},architecture=SwinIR")
    with pytest.raises(UsageError, match="SHA-256"):
        build(builtin_app, f"model:file={path},sha256=00ff")
    assert build(builtin_app, f"model:file={path},scale=4").scale == 4


def test_precision(builtin_app: App, model_file: Callable[..., Path]) -> None:
    images = make_tiny_images(1, 3, 16)
    full = build(builtin_app, f"model:file={model_file('Compact')}")(images)
    half = build(builtin_app, f"model:file={model_file('Compact')},precision=bf16")(images)
    assert (half - full).abs().max() < 0.05  # bf16 keeps 8 bits of mantissa
    with pytest.raises(UsageError, match="does not run in fp16"):
        build(builtin_app, f"model:file={model_file('SwinIR')},precision=fp16")


def test_names_in_the_models_folder(builtin_app: App, model_file: Callable[..., Path], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "models"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "4x-tiny.safetensors").write_bytes(model_file("ESRGAN").read_bytes())
    monkeypatch.setenv("GENART_MODELS", str(folder))
    processor = build(builtin_app, "model:file=4x-tiny")
    assert processor.scale == 4 and processor.info.path == str((folder / "sub" / "4x-tiny.safetensors").resolve())
    with pytest.raises(UsageError, match="never downloads"):
        build(builtin_app, "model:file=4x-UltraSharp")


def test_extra_architectures_need_the_package_and_the_opt_in(builtin_app: App, tmp_path: Path) -> None:
    """A restricted-licence architecture (SRFormer, spandrel_extra_arches) is refused unless extra=true."""
    import_spandrel()  # first: it works around a torchvision that does not fit torch
    extra = pytest.importorskip("spandrel_extra_arches")
    from safetensors.torch import save_file
    from spandrel_extra_arches.architectures.SRFormer import SRFormer

    torch.manual_seed(0)
    net = SRFormer(embed_dim=12, depths=(1,), num_heads=(2,), window_size=4, upscale=2, upsampler="pixelshuffledirect")
    path = tmp_path / "srformer.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    with pytest.raises(UsageError, match="unknown architecture.*extra=true"):
        build(builtin_app, f"model:file={path}")
    processor = build(builtin_app, f"model:file={path},extra=true")
    assert processor.info.architecture == "SRFormer" and processor.info.licence.startswith("restricted")
    assert processor(make_tiny_images(1, 3, 16)).shape == (1, 3, 32, 32)
    assert extra is not None


@pytest.mark.slow
def test_tiled_equals_untiled_on_a_2048_px_image(builtin_app: App, model_file: Callable[..., Path]) -> None:
    """The issue's size: a 2048 px photo through the default tiles (384 px, with the default context) against
    one whole-image pass of the same (tiny, random) RRDBNet; about 9 GB at its peak (the whole-image pass)."""
    path = model_file("ESRGAN")
    images = make_tiny_images(1, 3, 2048, seed=5)
    tiled = build(builtin_app, f"model:file={path}")
    assert tiled.tile < 2048
    whole = build(builtin_app, f"model:file={path},tile=0")(images)
    assert (tiled(images) - whole).abs().max() <= ONE_LEVEL
