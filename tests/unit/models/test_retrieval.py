"""Retrieval dual encoder and CandidateScorer (tiny, untrained models)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from nmrlens.errors import NmrLensError, SpectrumFormatError
from nmrlens.models.checkpoint import load_checkpoint
from nmrlens.models.retrieval import (CandidateScorer, collate_spectra, fuse_scores, retrieval_view, spectrum_config,
                                      spectrum_sequence)
from nmrlens.spectra.model import Multiplet, Peak, Query, Spectrum1D
from nmrlens.tokenize.spectral import SpectralTokenizer
from tests.retrieval_helpers import SMILES, tiny_checkpoint, tiny_model

C13 = Spectrum1D("13C", [Peak(170.5, mult="S"), Peak(128.0, count=2), Peak(21.0)])
H1 = Spectrum1D("1H", [Multiplet(7.2, 7.4, mult="m", nH=5), Multiplet(2.1, 2.1, mult="s", nH=3)])


def test_retrieval_view_and_config() -> None:
    q = Query(spectra=[H1, C13], formula="C8H8O2")
    v = retrieval_view(q)
    assert [p.shift for p in v.spectrum("13C").peaks] == [170.5, 128.0, 21.0]
    assert all(p.mult is None and p.count is None for p in v.spectrum("13C").peaks)
    got = [(round(m.shift_min, 9), round(m.shift_max, 9), m.mult, m.nH) for m in v.spectrum("1H").peaks]
    assert got == [(7.3, 7.3, None, 5), (2.1, 2.1, None, 3)]
    assert spectrum_config(q) == "CH"
    assert spectrum_config(q, "cf") == "C"
    with pytest.raises(SpectrumFormatError, match="config"):
        spectrum_config(Query(spectra=[C13]), "H")
    with pytest.raises(SpectrumFormatError, match="13C and/or 1H"):
        spectrum_config(Query())


def test_sequence_layout_and_thinning() -> None:
    tok = SpectralTokenizer.load()
    q = retrieval_view(Query(spectra=[C13, H1]))
    ids, vals, kinds = spectrum_sequence(tok, q, "CH", 64)
    toks = tok.tokens(ids)
    assert toks[0] == "<bos>" and toks[1] == "<13C>" and toks[5] == "</13C>" and toks[6] == "<1H>" and toks[-1] == "<eos>"
    assert toks[7] == "nH=5" and kinds == [0, 0, 1, 1, 1, 0, 0, 0, 2, 0, 2, 0, 0]
    assert abs(vals[2] - (170.5 - 100) / 60) < 1e-9
    only_c = tok.tokens(spectrum_sequence(tok, q, "C", 64)[0])
    assert "<1H>" not in only_c
    big = Query(spectra=[Spectrum1D("13C", [Peak(10.0 + i) for i in range(150)])])
    ids, _, _ = spectrum_sequence(tok, big, "C", 64)
    assert len(ids) <= 64


def test_overfit_tiny_batch() -> None:
    from nmrlens import api
    from nmrlens.data.featurize import featurize_mol
    from nmrlens.nn.graph import collate_graphs
    from rdkit import Chem

    tok = SpectralTokenizer.load()
    model = tiny_model(0)
    smiles = SMILES[:8]
    preds = [retrieval_view(p.query) for p in api.predict_many(smiles)]
    g = collate_graphs([featurize_mol(Chem.MolFromSmiles(s)) for s in smiles])
    s = collate_spectra([spectrum_sequence(tok, q, "C", 64) for q in preds])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = model.loss(g, s).item()
    for _ in range(150):
        loss = model.loss(g, s)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first
    model.eval()
    m, e = model(g, s)
    assert (torch.argmax(e @ m.t(), dim=1) == torch.arange(8)).all()


def test_bf16_loss_is_float32_and_close() -> None:
    """bfloat16 autocast (training option) keeps the InfoNCE in float32 and close to the float32 loss."""
    from nmrlens.data.featurize import featurize_mol
    from nmrlens.nn.graph import collate_graphs
    from rdkit import Chem

    tok = SpectralTokenizer.load()
    model = tiny_model(0).eval()
    g = collate_graphs([featurize_mol(Chem.MolFromSmiles(s)) for s in SMILES[:4]])
    s = collate_spectra([spectrum_sequence(tok, retrieval_view(Query(spectra=[C13])), "C", 64)] * 4)
    with torch.no_grad():
        fp32, bf16 = model.loss(g, s), model.loss(g, s, bf16=True)
    assert bf16.dtype == torch.float32
    assert abs(bf16.item() - fp32.item()) < 0.05 * abs(fp32.item()) + 1e-3


def test_checkpoint_reload_gives_identical_outputs(tmp_path) -> None:  # noqa: ANN001
    stem = tiny_checkpoint(tmp_path)
    model, side = load_checkpoint(stem)
    a = CandidateScorer(tiny_model(0), SpectralTokenizer.load())
    b = CandidateScorer.load(stem)
    assert side["model_class"] == "RetrievalModel"
    q = Query(spectra=[C13, H1])
    assert np.array_equal(a.embed_spectra([q]), b.embed_spectra([q]))
    assert np.array_equal(a.embed_molecules(SMILES[:4]), b.embed_molecules(SMILES[:4]))
    e = b.embed_molecules(SMILES[:4])
    assert e.dtype == np.float32 and np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)


def test_score_marks_invalid_and_wrong_formula(tmp_path) -> None:  # noqa: ANN001
    scorer = CandidateScorer.load(tiny_checkpoint(tmp_path))
    q = Query(spectra=[C13])
    cands = ["CC(=O)c1ccccc1", "not a smiles", "CCO", "[Na+].[Cl-]"]
    out = scorer.score(q, cands)
    assert set(out) == {"sme", "sse", "ssr", "combine"}
    for key, v in out.items():
        assert v.shape == (4,)
        assert np.isfinite(v[[0, 2]]).all() and np.isneginf(v[[1, 3]]).all(), key
    assert 0.0 <= out["ssr"][0] <= 1.0
    # the formula filter
    out = scorer.score(q.with_(formula="C8H8O"), cands)
    assert np.isfinite(out["combine"][0]) and np.isneginf(out["combine"][2])
    # given predictions are used as they are: a candidate whose predicted spectrum equals the query scores SSR 1
    out = scorer.score(q, ["CCO"], predicted=[Query(spectra=[C13])])
    assert out["ssr"][0] == pytest.approx(1.0)
    with pytest.raises(NmrLensError, match="predicted"):
        scorer.score(q, ["CCO", "CC"], predicted=[None])


def test_fuse_scores() -> None:
    sme, sse, ssr = np.array([0.1, -np.inf]), np.array([0.2, 0.3]), np.array([0.5, 0.9])
    out = fuse_scores(sme, sse, ssr, {"sme": 1.0, "sse": 2.0, "ssr": 3.0})
    assert out[0] == pytest.approx(0.1 + 0.4 + 1.5) and np.isneginf(out[1])
