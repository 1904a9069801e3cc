"""The shipped invertible-network checkpoints: exact inversion, a sane forward code, valid inverse
samples, and a sidecar that names the TOML config that reproduces them."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import torch

from nmrlens.models.invert import InversePredictor

WEIGHTS = Path(__file__).resolve().parents[3] / "src" / "nmrlens" / "weights"
MOLECULES = {
    "revmolspec": ["c1ccccc1", "CC1=CCC(CC1)C(C)=C", "CCCCCCCC", "C#CCc1ccccc1"],
    "general": ["c1ccccc1", "CC(=O)Nc1ccc(O)cc1", "Brc1cccs1", "OCC(O)CO"],
}


@pytest.fixture(scope="module", params=["revmolspec", "general"])
def shipped(request: pytest.FixtureRequest) -> Iterator[tuple[str, InversePredictor]]:
    name = request.param
    if not (WEIGHTS / f"invert_{name}.safetensors").exists():
        pytest.skip(f"invert_{name} is not shipped in this checkout")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield name, InversePredictor.load(variant=name)
    torch.set_num_threads(before)


def test_exact_inversion(shipped: tuple[str, InversePredictor]) -> None:
    name, p = shipped
    x = torch.from_numpy(p.encode(MOLECULES[name]))
    with torch.no_grad():
        err = float((p.model.reconstruct(x) - x).abs().max())
    assert err < 1e-4


def test_benzene_code_hits_its_window(shipped: tuple[str, InversePredictor]) -> None:
    _, p = shipped
    bits, probs = p.forward_code("c1ccccc1")
    assert bits.shape == (128,) and probs.shape == (128,)
    assert bits[80] == 1  # 128.4 ppm -> window 80 (128.0-129.6 ppm)
    assert bits[:60].sum() <= 1 and bits[100:].sum() == 0  # nothing far from the aromatic region


def test_inverse_samples_are_valid_molecules(shipped: tuple[str, InversePredictor]) -> None:
    from rdkit import Chem

    from nmrlens.spectra.code import spectrum_code

    _, p = shipped
    code = spectrum_code([144.2, 128.4, 127.9, 125.7, 28.9, 15.6])  # ethylbenzene
    smp = p.sample_structures(code, 20, seed=0, refine=0)
    assert smp.n_valid >= 18 and smp.structures
    for smi, _, _ in smp.structures:
        assert Chem.MolFromSmiles(smi) is not None


def test_sidecar_names_the_reproducing_config(shipped: tuple[str, InversePredictor]) -> None:
    import json

    name, p = shipped
    sidecar = json.loads((WEIGHTS / f"invert_{name}.json").read_text())
    cfg_path = Path(__file__).resolve().parents[3] / sidecar["training_data"]["config_file"]
    assert cfg_path.name == f"invert_{name}.toml" and cfg_path.exists()
    model_cfg = tomllib.loads(cfg_path.read_text())["model"]
    for key in ("layout", "size", "atom_order", "blocks", "hidden", "axial", "permute", "seed"):
        assert p.model.hparams[key] == model_cfg[key], key
    assert sidecar["training_data"]["config"]["model"]["layout"] == model_cfg["layout"]
    assert np.isfinite(float(p.model.code_threshold))
