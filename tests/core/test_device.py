from __future__ import annotations

import pytest
import torch

from genart.errors import UsageError
from genart.loop.device import prefers_channels_last, resolve_device, resolve_precision


def test_auto_picks_cuda_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type in ("cpu", "mps")


def test_explicit_devices() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="CUDA is not available"):
            resolve_device("cuda:0")
    with pytest.raises(UsageError, match="unknown device"):
        resolve_device("quantum")


def test_precision() -> None:
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) is None
    assert resolve_precision("bf16", cpu) is torch.bfloat16
    with pytest.raises(UsageError, match="fp16 is not supported on the CPU"):
        resolve_precision("fp16", cpu)
    with pytest.raises(UsageError, match="unknown precision"):
        resolve_precision("int4", cpu)


@pytest.mark.parametrize(("machine", "onednn", "expected_fp32"), [("x86_64", True, True), ("AMD64", True, True),
                                                                  ("x86_64", False, False), ("arm64", True, False)])
def test_channels_last_under_reduced_precision_and_for_fp32_on_x86_cpus(
        monkeypatch: pytest.MonkeyPatch, machine: str, onednn: bool, expected_fp32: bool) -> None:
    monkeypatch.setattr("platform.machine", lambda: machine)
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: onednn)
    cpu, cuda, mps = torch.device("cpu"), torch.device("cuda"), torch.device("mps")
    assert prefers_channels_last(cpu, None) is expected_fp32
    assert prefers_channels_last(cpu, torch.bfloat16) is True
    assert prefers_channels_last(cuda, torch.bfloat16) is True and prefers_channels_last(cuda, torch.float16) is True
    assert prefers_channels_last(cuda, None) is False and prefers_channels_last(mps, None) is False
