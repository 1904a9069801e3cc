"""Peak-list token model: tiny-batch overfit, checkpoint reload, grammar-valid decoding."""

from __future__ import annotations

from pathlib import Path

import torch

from nmrlens.chem import parse_smiles
from nmrlens.data.featurize import featurize_mol
from nmrlens.models.checkpoint import load_checkpoint, save_checkpoint
from nmrlens.models.peaklist import PeakListModel, PeakListPredictor, TokenGrammar
from nmrlens.nn.graph import collate_graphs
from nmrlens.spectra import Multiplet, Peak, Query, Spectrum1D
from nmrlens.tokenize import SpectralTokenizer

TOK = SpectralTokenizer.load()
MOLS = {
    "CCO": Query(spectra=[Spectrum1D("13C", [Peak(58.3), Peak(18.4)]),
                          Spectrum1D("1H", [Multiplet(3.69, 3.69, "q", (7.0,), 2), Multiplet(1.22, 1.22, "t", (7.0,), 3)])]),
    "CC(C)=O": Query(spectra=[Spectrum1D("13C", [Peak(206.7), Peak(30.8, count=2)])]),
}


def _tiny() -> PeakListModel:
    torch.manual_seed(0)
    return PeakListModel(TOK.vocab_size, hidden=32, enc_layers=1, dec_layers=1, heads=2, ff=64, dropout=0.0, max_len=64)


def _batch():
    graphs = [featurize_mol(parse_smiles(s)) for s in MOLS]
    seqs = [TOK.encode(q, "CH") for q in MOLS.values()]
    T = max(map(len, seqs))
    toks = torch.full((len(seqs), T), TOK.pad_id)
    for i, s in enumerate(seqs):
        toks[i, : len(s)] = torch.tensor(s)
    return collate_graphs(graphs), toks


def test_overfits_and_decodes_the_training_spectra() -> None:
    torch.set_num_threads(1)
    model = _tiny()
    g, toks = _batch()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        logits = model(g, toks[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), toks[:, 1:].reshape(-1),
                                                 ignore_index=TOK.pad_id)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    pred = PeakListPredictor(model, TOK)
    (c13_ethanol,), (c13_acetone,) = pred.predict_mols([parse_smiles(s) for s in MOLS], "13C")
    assert [round(s) for s in c13_ethanol.shifts] == [58, 18]
    assert [round(s) for s in c13_acetone.shifts] == [207, 31] and c13_acetone.peaks[1].count == 2
    (h1,) = pred.predict_mols([parse_smiles("CCO")], "1H")[0:1]
    assert [m.nH for m in h1[0].peaks] == [2, 3]


def test_checkpoint_reload_identical(tmp_path: Path) -> None:
    model = _tiny().eval()
    stem = save_checkpoint(model, tmp_path / "pl")
    loaded, side = load_checkpoint(stem)
    g, toks = _batch()
    with torch.no_grad():
        assert torch.equal(model(g, toks), loaded(g, toks))
    a = PeakListPredictor(model, TOK).predict_mols([parse_smiles("CCCO")], "13C", samples=3)
    b = PeakListPredictor(loaded, TOK).predict_mols([parse_smiles("CCCO")], "13C", samples=3)
    assert a == b


def test_untrained_decoding_obeys_the_grammar() -> None:
    model = _tiny()
    pred = PeakListPredictor(model, TOK)
    mols = [parse_smiles(s) for s in ("CCCCCC", "c1ccccc1O", "CC(=O)OCc1ccccc1")]
    for mol, cands in zip(mols, pred.predict_mols(mols, "13C", samples=4, temperature=1.5)):
        n_c = sum(1 for a in mol.GetAtoms() if a.GetSymbol() == "C")
        for sp in cands:
            assert sp.nucleus == "13C" and 1 <= sum(p.count or 1 for p in sp.peaks) <= n_c
    for mol, cands in zip(mols, pred.predict_mols(mols, "1H", samples=2, temperature=1.5)):
        for sp in cands:
            assert all(m.shift_min <= m.shift_max for m in sp.peaks)


def test_grammar_masks() -> None:
    gr = TokenGrammar(TOK)
    s = gr.start([TOK.bos_id, TOK.token_to_id("<13C>")], {"n_c": 2, "n_h": 4})
    allowed = gr.allowed(s)
    assert allowed[gr.c0:gr.cn].all() and not allowed[gr.c_end]  # at least one peak first
    gr.advance(s, gr.c0 + 500)
    allowed = gr.allowed(s)
    assert allowed[gr.c0:gr.c0 + 501].all() and not allowed[gr.c0 + 501:gr.cn].any() and allowed[gr.c_end]
    gr.advance(s, gr.c0 + 10)
    assert gr.allowed(s).nonzero().flatten().tolist() == [gr.c_end]  # two carbons, two peaks
    gr.advance(s, gr.c_end)
    assert gr.allowed(s).nonzero().flatten().tolist() == [gr.eos_id]
