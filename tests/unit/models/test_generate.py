"""Generation model: tiny-batch overfit with beam search, reload, candidate validity, formula constraint,
refinement variants."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nmrlens.errors import ConfigError, SpectrumFormatError
from nmrlens.models.checkpoint import load_checkpoint
from nmrlens.models.generate import (VARIANTS, Candidate, FormulaConstraint, Generator, make_candidate, refine,
                                     rerank_base)
from nmrlens.spectra import Peak, Query, Spectrum1D
from tests.generate_helpers import CONFIGS, PAIRS, save_tiny, tiny_generator


def test_tiny_model_memorises_pairs_and_beam_search_returns_them() -> None:
    gen, loss = tiny_generator()
    assert loss < 0.05
    for smi, q in PAIRS.items():
        for cfg in CONFIGS:
            cands = gen.beams([q], [cfg], beam=5)[0]
            assert cands[0].smiles == smi, (cfg, cands[0].text)


def test_batched_beams_equal_single_beams() -> None:
    gen, _ = tiny_generator()
    qs = list(PAIRS.values())
    batched = gen.beams(qs, ["CH"] * 3, beam=4, batch_size=3)
    for q, cands in zip(qs, batched):
        single = gen.beams([q], ["CH"], beam=4)[0]
        assert [c.text for c in cands] == [c.text for c in single]
        assert [c.logp for c in cands] == pytest.approx([c.logp for c in single], abs=1e-4)


def test_reloaded_checkpoint_gives_identical_outputs(tmp_path: Path) -> None:
    gen, _ = tiny_generator()
    stem = save_tiny(tmp_path)
    model, sidecar = load_checkpoint(stem)
    assert sidecar["model_class"] == "GenerationModel"
    again = Generator.load(stem)
    q = PAIRS["CC(C)=O"]
    a, b = gen.beams([q], ["CHF"], beam=6)[0], again.beams([q], ["CHF"], beam=6)[0]
    assert [c.text for c in a] == [c.text for c in b]
    assert [c.logp for c in a] == pytest.approx([c.logp for c in b], abs=1e-5)


def test_beam_candidates_are_ranked_and_base_is_valid_and_unique() -> None:
    gen, _ = tiny_generator()
    cands = gen.beams([PAIRS["C[C@H](N)C(=O)O"]], ["C"], beam=12, constrain_formula=False)[0]
    assert len(cands) == 12
    scores = [c.logp for c in cands]
    assert scores == sorted(scores, reverse=True)
    assert [c.beam_rank for c in cands] == list(range(12))
    base = rerank_base(cands)
    assert base and all(c.valid for c in base)
    assert len({c.smiles for c in base}) == len(base)
    assert base[0].smiles == "C[C@H](N)C(=O)O" and base[0].inchikey == "QNAYBMKLOCPYGJ-REOHCLBHSA-N"


def test_formula_constraint_keeps_heavy_atoms_of_the_formula() -> None:
    from rdkit import Chem

    gen, _ = tiny_generator()
    q = PAIRS["C[C@H](N)C(=O)O"]
    cands = gen.beams([q], ["CF"], beam=10)[0]
    heavy = {"C": 3, "N": 1, "O": 2}
    for c in cands:
        if c.valid:
            mol = Chem.MolFromSmiles(c.smiles)
            counts: dict[str, int] = {}
            for a in mol.GetAtoms():
                counts[a.GetSymbol()] = counts.get(a.GetSymbol(), 0) + 1
            assert counts == heavy, c.smiles


def test_formula_constraint_masks() -> None:
    from nmrlens.tokenize import SmilesTokenizer

    tok = SmilesTokenizer.load()
    fc = FormulaConstraint(tok)
    st = fc.start(fc.budget("C2H6O")[None], torch.tensor([True]))
    ids = tok.token_to_id
    for t in ("C", "C", "O"):
        m = fc.mask(st)[0]
        assert m[ids(t)] and not m[ids("N")] and not m[tok.eos_id]
        fc.advance(st, torch.tensor([ids(t)]))
    m = fc.mask(st)[0]
    assert m[tok.eos_id] and not m[ids("C")] and not m[ids("c")]
    # bracket atoms: the element inside counts, the H count does not
    st = fc.start(fc.budget("CH5N")[None], torch.tensor([True]))
    for t in ("C", "[", "N", "H", "3", "+", "]"):
        assert fc.mask(st)[0][ids(t)], t
        fc.advance(st, torch.tensor([ids(t)]))
    assert fc.mask(st)[0][tok.eos_id]
    # inactive rows are unconstrained
    st = fc.start(fc.budget(None)[None], torch.tensor([False]))
    assert bool(fc.mask(st).all())


def test_refine_variants() -> None:
    cands = [make_candidate(t, lp, r) for r, (t, lp) in enumerate(
        [("CC(C)O", -0.5), ("C1CC1", -1.0), ("CC(=O)C", -1.2), ("CC(C)=O", -1.5), ("C(", -2.0)])]
    q = PAIRS["CC(C)=O"]
    out = refine(q, "CHF", cands)
    assert set(out) == set(VARIANTS)
    assert [c.text for c in out["raw"]] == ["CC(C)O", "C1CC1", "CC(=O)C", "CC(C)=O", "C("]
    assert [c.smiles for c in out["rerank_base"]] == ["CC(C)=O"]  # same formula, invalid and duplicate removed
    out = refine(q, "CH", cands)
    assert [c.smiles for c in out["rerank_base"]] == ["CC(C)O", "C1CC1", "CC(C)=O"]
    ssr = out["rerank_ssr"]
    assert ssr is not None and ssr[0].smiles == "CC(C)=O"  # acetone's predicted spectra match the query best
    assert all(0.0 <= c.scores["ssr"] <= 1.0 for c in ssr)
    assert sum(c.scores["beam"] for c in ssr) == pytest.approx(1.0)
    assert out["rerank_combine"] is not None and len(out["rerank_combine"]) == 3


def test_generate_api_errors() -> None:
    gen, _ = tiny_generator()
    with pytest.raises(ConfigError, match="beam"):
        gen.generate(PAIRS["CCO"], beam=0)
    with pytest.raises(ConfigError, match="beam"):
        gen.generate(PAIRS["CCO"], beam=101)
    with pytest.raises(ConfigError, match="variant"):
        gen.generate(PAIRS["CCO"], variant="best")
    with pytest.raises(SpectrumFormatError, match="config"):
        gen.generate(Query(spectra=[Spectrum1D("13C", [Peak(20.0)])]), config="CF")
    with pytest.raises(SpectrumFormatError, match="13C and/or 1H"):
        gen.generate(Query(formula="C2H6O"))
    got = gen.generate(PAIRS["CCO"], variant="rerank_base", k=1)
    assert len(got) == 1 and isinstance(got[0], Candidate) and got[0].smiles == "CCO"


def test_cli_constants_match_the_model_module() -> None:
    from nmrlens.cli import generate as cli_generate
    from nmrlens.models import generate as model_generate

    assert cli_generate.VARIANTS == model_generate.VARIANTS
    assert cli_generate.MAX_BEAM == model_generate.MAX_BEAM


def test_refine_uses_a_candidate_scorer() -> None:
    import numpy as np

    class FakeScorer:
        def score(self, query, smiles, *, predicted=None, config=None, use_formula=True):  # noqa: ANN001, ANN201
            assert config == "CH" and len(predicted) == len(smiles) and query.formula is None
            sme = np.array([1.0 if s == "C1CC1" else 0.0 for s in smiles])
            return {"sme": sme, "sse": -sme, "ssr": sme, "combine": sme}

    cands = [make_candidate(t, lp, r) for r, (t, lp) in enumerate([("CC(C)O", -0.5), ("C1CC1", -1.0), ("CC(C)=O", -1.5)])]
    out = refine(PAIRS["CC(C)=O"], "CH", cands, scorer=FakeScorer(), weights={"sme": 10.0, "ssr": 1.0})
    assert out["rerank_sme"][0].smiles == "C1CC1" and out["rerank_sse"][-1].smiles == "C1CC1"
    assert out["rerank_combine"][0].smiles == "C1CC1"


@pytest.mark.parametrize("smiles", ["CCO", "C[C@H](N)C(=O)O", "c1ccc2c(c1)[nH]c1ccccc12", "O=[N+]([O-])c1ccc(Cl)cc1",
                                    "C/C=C/C(=O)OCC", "C1CC2CCC1CC2", "C%10CCCCC%10", "[2H]C([2H])([2H])O", "C#N"])
def test_syntax_constraint_accepts_valid_smiles(smiles: str) -> None:
    from nmrlens.models.generate import SyntaxConstraint
    from nmrlens.tokenize import SmilesTokenizer

    tok = SmilesTokenizer.load()
    sc = SyntaxConstraint(tok)
    st = sc.start(1)
    for i in tok.encode(smiles, add_special=False):
        assert sc.mask(st)[0, i], (smiles, tok.id_to_token(i))
        assert not sc.mask(st)[0, tok.eos_id] or tok.id_to_token(i) not in (")", "]")
        sc.advance(st, torch.tensor([i]))
    assert sc.mask(st)[0, tok.eos_id]


@pytest.mark.parametrize("prefix, bad", [("", "("), ("", "1"), ("", "="), ("C(", ")"), ("C", ")"), ("C(C", "<eos>"),
                                         ("C1CC", "<eos>"), ("C[N", "<eos>"), ("C=", "<eos>"), ("C", "."), ("C", "*"),
                                         ("C[N", "("), ("C", "]")])
def test_syntax_constraint_rejects(prefix: str, bad: str) -> None:
    from nmrlens.models.generate import SyntaxConstraint
    from nmrlens.tokenize import SmilesTokenizer

    tok = SmilesTokenizer.load()
    sc = SyntaxConstraint(tok)
    st = sc.start(1)
    ids = tok.encode(prefix + "]", add_special=False)[:-1] if prefix.endswith("[N") else (
        tok.encode(prefix, add_special=False) if prefix else [])
    if prefix in ("C(", "C=", "C1CC", "C(C"):
        ids = [tok.token_to_id(t) for t in {"C(": ["C", "("], "C=": ["C", "="], "C1CC": ["C", "1", "C", "C"],
                                           "C(C": ["C", "(", "C"]}[prefix]]
    for i in ids:
        sc.advance(st, torch.tensor([i]))
    assert not sc.mask(st)[0, tok.token_to_id(bad)]


def test_syntax_constrained_beams_are_balanced() -> None:
    gen, _ = tiny_generator()
    for cands in gen.beams(list(PAIRS.values()), ["C"] * 3, beam=10):
        for c in cands:
            if c.logp < -1e3:  # cut at max_tgt (forced end): not a finished SMILES
                continue
            assert c.text.count("(") == c.text.count(")") and c.text.count("[") == c.text.count("]"), c.text


def test_retry_beam_searches_again_only_when_no_candidate_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    gen, _ = tiny_generator()
    widths: list[int] = []
    real = gen._search

    def spy(sources, queries, cfgs, beam, *args):  # type: ignore[no-untyped-def]
        widths.append(beam)
        got = real(sources, queries, cfgs, beam, *args)
        return [[Candidate(c.text, None, c.logp, c.beam_rank) for c in cands] for cands in got] if beam == 3 else got

    monkeypatch.setattr(gen, "_search", spy)
    out = gen.beams([PAIRS["CCO"]], ["C"], beam=3)  # first search made "invalid" by the spy: retried at 4 x 3
    assert widths == [3, 12] and len(out[0]) == 3 and out[0][0].smiles == "CCO"
    widths.clear()
    gen.beams([PAIRS["CCO"]], ["C"], beam=3, retry_beam=0)
    assert widths == [3]
    with pytest.raises(ConfigError, match="retry_beam"):
        gen.beams([PAIRS["CCO"]], ["C"], beam=3, retry_beam=2)


def test_hydrogen_bound_keeps_the_answer_and_only_valid_formula_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    from nmrlens.models import generate as G

    gen, _ = tiny_generator()
    calls: list[int] = []
    real = G.HydrogenBound.violated

    def spy(self, vstate, left, width):  # type: ignore[no-untyped-def]
        calls.append(len(vstate))
        return real(self, vstate, left, width)

    monkeypatch.setattr(G.HydrogenBound, "violated", spy)
    for smi, q in PAIRS.items():
        plain = gen.beams([q], ["CF"], beam=5, constrain_hydrogens=False)[0]
        assert not calls  # off when asked
        bounded = gen.beams([q], ["CF"], beam=5)[0]
        assert calls and bounded[0].smiles == smi == plain[0].smiles  # on by default
        assert all(c.valid and c.formula == q.formula for c in bounded if c.logp > -1e4)
        calls.clear()
        gen.beams([q], ["C"], beam=5, constrain_hydrogens=True)  # no formula: no bound
        assert not calls
