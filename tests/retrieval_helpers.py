"""Helpers of the retrieval/library tests: a tiny untrained retrieval checkpoint and tiny record files."""

from __future__ import annotations

import json
from pathlib import Path

SMILES = [
    "CCO", "CC(=O)OCC", "c1ccccc1O", "CC(=O)c1ccccc1", "CCN(CC)CC", "OC(=O)c1ccccc1", "CCCCCC", "CC(C)O",
    "COc1ccccc1", "CC(=O)N", "C1CCCCC1", "CCOC(=O)c1ccccc1", "Cc1ccccc1", "CCC(=O)O", "ClCCCl", "CC#N",
]


def tiny_model(seed: int = 0, **kw):  # noqa: ANN201 - RetrievalModel
    """A small RetrievalModel with the shipped vocabulary size."""
    import torch

    from nmrlens.models.retrieval import RetrievalModel
    from nmrlens.tokenize.spectral import SpectralTokenizer

    torch.manual_seed(seed)
    args = dict(graph_hidden=24, graph_layers=2, spec_hidden=24, spec_layers=1, heads=2, ff=32, dropout=0.0,
                max_len=64, embed_dim=16)
    args.update(kw)
    return RetrievalModel(SpectralTokenizer.load().vocab_size, **args)


def tiny_checkpoint(folder: Path, seed: int = 0) -> str:
    """Save :func:`tiny_model` under ``folder/tiny_retrieval`` and return the stem."""
    from nmrlens.models.checkpoint import save_checkpoint

    return str(save_checkpoint(tiny_model(seed), Path(folder) / "tiny_retrieval", force=True))


def write_records(path: Path, smiles: list[str] | None = None) -> Path:
    """nmrshiftdb2-format records whose 'experimental' spectra are the shipped model's predictions."""
    from nmrlens import api

    smiles = smiles or SMILES
    lines = []
    for i, (smi, p) in enumerate(zip(smiles, api.predict_many(smiles))):
        c = p.query.spectrum("13C")
        h = p.query.spectrum("1H")
        spectra = [{"nucleus": "13C", "key": "Spectrum 13C 0", "peaks": [{"shift": round(x.shift + 0.3, 2)} for x in c.peaks]}]
        if i % 2 == 0:
            spectra.append({"nucleus": "1H", "key": "Spectrum 1H 0",
                            "peaks": [{"shift": round(m.shift, 2), "nH": m.nH} for m in h.peaks]})
        lines.append(json.dumps({"nmrshiftdb2_id": 9_000_000 + i, "smiles": smi, "spectra": spectra}))
    path.write_text("\n".join(lines) + "\n")
    return path
