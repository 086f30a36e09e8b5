"""``genart export-weights`` is a core command over the Exportable capability: any model with export() has it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

import genart
import genart_toy_plugin
from genart import Exportable
from genart.contract.plugins import App


class ExportingToy(genart_toy_plugin.ToyModel):
    def export(self) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}, {"toy.kind": "linear"}


class ExportPlugin:
    @genart.hookimpl
    def register_models(self, register: Any) -> None:
        register("toy-export", lambda p, c: ExportingToy(p, c), params=genart_toy_plugin.ToyModelParams)


def test_any_exportable_model_gets_export_weights(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    from safetensors import safe_open

    toy_app.register(ExportPlugin(), "export-plugin")
    assert isinstance(ExportingToy.__new__(ExportingToy), Exportable)
    result = genart_cli(["run", "--model", "toy-export", "--data", "dots", "--out", str(tmp_path), "-q"], app=toy_app)
    assert result.exit_code == 0, result.output
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    out = tmp_path / "net.safetensors"
    result = genart_cli(["export-weights", str(run), str(out)], app=toy_app)
    assert result.exit_code == 0, result.output
    with safe_open(str(out), "pt") as handle:
        assert set(handle.keys()) == {"weight", "bias"}
        meta = handle.metadata()
    assert meta["toy.kind"] == "linear" and meta["genart.model"] == "toy-export"
    again = genart_cli(["export-weights", str(run), str(out)], app=toy_app)
    assert again.exit_code != 0 and "already exists" in again.output


def test_a_model_without_export_is_a_one_line_error(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    result = genart_cli(["run", "--model", "toy", "--data", "dots", "--out", str(tmp_path), "-q"], app=toy_app)
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    result = genart_cli(["export-weights", str(run), str(tmp_path / "x.safetensors")], app=toy_app)
    assert result.exit_code == 2 and "no exportable weights" in result.output
    assert not (tmp_path / "x.safetensors").exists()
