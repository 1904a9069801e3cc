"""Small data and checkpoints for the invertible-network tests (written by the tests themselves)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

#: Hydrocarbons with approximate 13C shifts (ppm). Splits by InChIKey block: ethylbenzene,
#: cyclopentene and octane are "test", 1-butene is "val", the rest "train".
SHIFTS: dict[str, list[float]] = {
    "CCc1ccccc1": [144.2, 128.4, 127.9, 125.7, 28.9, 15.6],
    "C1=CCCC1": [130.8, 32.5, 22.9],
    "CCCCCCCC": [32.2, 29.6, 29.3, 22.9, 14.1],
    "C=CCC": [140.5, 113.1, 27.0, 13.4],
    "CC": [7.0], "C=C": [123.0], "CCC": [15.9, 16.3], "CC=C": [19.4, 115.9, 133.9], "CC#C": [3.0, 67.0, 80.0],
    "CCCC": [13.4, 25.0], "CC(C)C": [24.6, 25.2], "C=CC=C": [117.5, 137.2], "C1CC1": [-2.8], "C1CCC1": [22.4],
    "C1CCCC1": [25.8], "C1CCCCC1": [27.0], "c1ccccc1": [128.4], "Cc1ccccc1": [137.8, 129.1, 128.3, 125.4, 21.4],
    "CC(C)(C)C": [31.5, 27.9], "CCCCC": [34.2, 22.4, 14.0], "CCCCCC": [31.7, 22.8, 14.1],
    "C#CCC": [86.0, 67.5, 13.2, 12.0], "C1=CCCCC1": [127.3, 25.3, 22.9], "CC1CCCCC1": [35.7, 33.0, 26.6, 26.4, 22.8],
}
TEST_SMILES = ["CCc1ccccc1", "C1=CCCC1", "CCCCCCCC"]
#: Molecules with heteroatoms (not in the RevMolSpec layout); cyclohexanol is held out of the shipped split.
HETERO_SHIFTS: dict[str, list[float]] = {"OC1CCCCC1": [70.3, 35.5, 25.6, 24.2], "CCO": [58.3, 18.4]}


def bond_digits(smiles: str) -> str:
    """Column C of the RevMolSpec table (136 digits) for a hydrocarbon, in its SMILES atom order."""
    from rdkit import Chem

    from nmrlens.chem.bondmatrix import MatrixSpec, mol_to_bonds

    bonds, _ = mol_to_bonds(Chem.MolFromSmiles(smiles), MatrixSpec("revmolspec", atom_order="source"))
    full = np.zeros((17, 17), dtype=np.int8)
    n = bonds.shape[0]
    full[:n, :n] = bonds
    return "".join(str(int(v)) for v in full[np.triu_indices(17, 1)])


def fine_bins(shifts: list[float]) -> str:
    """Column D (1024 characters 0/1) for a peak list."""
    from nmrlens.spectra.code import fine_bin

    bits = ["0"] * 1024
    for s in shifts:
        bits[fine_bin(s)] = "1"
    return "".join(bits)


def write_revmolspec_csv(path: Path, smiles: list[str] | None = None) -> Path:
    """A RevMolSpec-format CSV of the given (default: all) hydrocarbons."""
    rows = ["A,B,C,D"]
    for k, smi in enumerate(smiles or list(SHIFTS)):
        rows.append(f"{20000000 + k},{30000000 + k},{bond_digits(smi)},{fine_bins(SHIFTS[smi])}")
    path.write_text("\n".join(rows) + "\n")
    return path


def write_nmrshiftdb2_jsonl(path: Path, smiles: list[str]) -> Path:
    """A gzipped nmrshiftdb2-format JSON-lines file with one 13C spectrum per molecule."""
    from rdkit import Chem

    with gzip.open(path, "wt") as fh:
        for k, smi in enumerate(smiles):
            mol = Chem.MolFromSmiles(smi)
            rec = {"nmrshiftdb2_id": 990000 + k, "smiles": Chem.MolToSmiles(mol), "inchikey": Chem.MolToInchiKey(mol),
                   "spectra": [{"nucleus": "13C", "peaks": [{"shift": s} for s in {**SHIFTS, **HETERO_SHIFTS}[smi]]}]}
            fh.write(json.dumps(rec) + "\n")
    return path


def tiny_checkpoint(path: Path, layout: str = "revmolspec", steps: int = 300) -> Path:
    """A tiny ReversibleNet fitted on :data:`SHIFTS` (code loss only) and saved; returns the stem."""
    import torch

    from nmrlens.chem.bondmatrix import encode
    from nmrlens.models.checkpoint import save_checkpoint
    from nmrlens.models.invert import ReversibleNet, code_loss
    from nmrlens.spectra.code import spectrum_code

    torch.manual_seed(0)
    model = ReversibleNet(layout=layout, blocks=[1, 1, 1, 1, 1], hidden=[8, 8, 16, 16, 32])
    x = torch.from_numpy(np.stack([encode(s, model.spec) for s in SHIFTS]))
    c = torch.from_numpy(np.stack([spectrum_code(v) for v in SHIFTS.values()]).astype(np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(steps):
        loss = code_loss(model(x)[1], c, pos_weight=2.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    model.fit_statistics(x, c)
    return save_checkpoint(model, path, extra={"refine_steps": 1})
