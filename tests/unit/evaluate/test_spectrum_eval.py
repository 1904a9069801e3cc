"""``evaluate spectrum`` end to end on a small file we write, with tiny untrained models."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import torch

from nmrlens import api
from nmrlens.evaluate.spectrum import VARIANTS, evaluate, expanded_count
from nmrlens.models.checkpoint import save_checkpoint
from nmrlens.models.peaklist import PeakListModel
from nmrlens.spectra import Multiplet, Peak, Spectrum1D
from nmrlens.tokenize import SpectralTokenizer


def test_expanded_count() -> None:
    assert expanded_count(Spectrum1D("13C", [Peak(1.0, count=2), Peak(2.0)])) == 3
    assert expanded_count(Spectrum1D("1H", [Multiplet(1.0, 1.0, nH=3), Multiplet(2.0, 2.0)])) == 4


def test_evaluate_spectrum_keys(tmp_path: Path, tiny_shift_checkpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from nmrlens.models.shifts import ShiftPredictor

    tiny = ShiftPredictor.load(tiny_shift_checkpoint)
    monkeypatch.setattr(api, "shift_predictor", lambda checkpoint=None: tiny)
    torch.manual_seed(0)
    tok = SpectralTokenizer.load()
    stem = save_checkpoint(PeakListModel(tok.vocab_size, hidden=16, enc_layers=1, dec_layers=1, heads=2, ff=32,
                                         max_len=64), tmp_path / "pl")
    recs = [
        {"nmrshiftdb2_id": 900000001, "smiles": "CCO", "inchikey": "ZZZZZZZZZZZZZA-UHFFFAOYSA-N", "assigned": False,
         "spectra": [{"nucleus": "13C", "peaks": [{"shift": 58.3}, {"shift": 18.4}]},
                     {"nucleus": "1H", "peaks": [{"shift": 3.7, "nH": 2}, {"shift": 1.2, "nH": 3}]}]},
        {"nmrshiftdb2_id": 900000002, "smiles": "CC(C)=O", "inchikey": "ZZZZZZZZZZZZZB-UHFFFAOYSA-N", "assigned": False,
         "spectra": [{"nucleus": "13C", "peaks": [{"shift": 206.7}, {"shift": 30.8}]}]},
    ]
    data = tmp_path / "recs.jsonl.gz"
    with gzip.open(data, "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in recs) + "\n")
    m = evaluate(data, checkpoint=str(stem), samples=2)
    assert m["n_c13"] == 2 and m["n_h1"] == 1 and m["n_molecules"] == 2
    for v in VARIANTS:
        assert 0.0 <= m[f"{v}.c13_similarity_mean"] <= 1.0
        assert m[f"{v}.c13_peak_count_mae"] >= 0.0
    assert m["best_variant"] in VARIANTS
    # the ensemble picks the candidate closest to the atom model: never farther from it than the greedy one
