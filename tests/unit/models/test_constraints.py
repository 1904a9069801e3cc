"""Decoding constraints: the valence constraint never blocks a valid SMILES and stops over-bonded
atoms and malformed bracket atoms; the end check accepts only molecules (of the target formula)."""

from __future__ import annotations

import pytest
import torch

from nmrlens.models.constraints import EndCheck, SyntaxConstraint, ValenceConstraint, molecule_formula
from nmrlens.tokenize import SmilesTokenizer
from tests.generate_helpers import PAIRS

TOK = SmilesTokenizer.load()

VALID = ["CCO", "C[C@H](N)C(=O)O", "O=c1ccc2ccccc2o1", "O=c1cccc[nH]1", "Cn1ccnc1", "O=[N+]([O-])c1ccc(Cl)cc1",
         "CS(=O)(=O)N", "COP(=O)(OC)OC", "[2H]C([2H])([2H])O", "C[n+]1ccccc1", "[O-][n+]1ccccc1", "C1=CC=CC=C1",
         "C#N", "C=1CCCCC=1", "C%10CCCCC%10", "c1ccc2c(c1)[nH]c1ccccc12", "C/C=C/C(=O)OCC", "OB(O)c1ccccc1",
         "C[Si](C)(C)C", "CC(C)(C)C(C)(C)C", "c1ccsc1", "c1cc[se]c1", "CI(=O)=O", "C[S@@](=O)c1ccccc1", "[NH4+]"]


def _feed(vc: ValenceConstraint, smiles_tokens: list[str]) -> tuple[list, bool]:
    """Advance one row through tokens; return (state, whether every token was allowed)."""
    st = vc.start(1)
    for t in smiles_tokens:
        i = TOK.token_to_id(t)
        if not vc.mask(st)[0, i]:
            return st, False
        vc.advance(st, torch.tensor([i]))
    return st, True


@pytest.mark.parametrize("smiles", VALID)
def test_valence_constraint_allows_valid_smiles(smiles: str) -> None:
    vc = ValenceConstraint(TOK)
    toks = [TOK.id_to_token(i) for i in TOK.encode(smiles, add_special=False)]
    st, ok = _feed(vc, toks)
    assert ok, smiles
    assert not st[0].dead and vc.mask(st)[0, TOK.eos_id]


@pytest.mark.parametrize("prefix, bad", [
    (["C", "(", "C", ")", "(", "C", ")", "(", "C", ")", "(", "C", ")"], "C"),   # fifth bond on carbon
    (["O", "=", "C", "=", "O"], "="),                            # carbon already has four bonds
    (["F"], "="),                                               # fluorine takes one bond
    (["C", "F"], "C"),                                          # fluorine already bonded
    (["C", "="], "F"),                                          # a double bond to fluorine
    (["C", "#"], "O"),                                          # a triple bond to oxygen
    (["C", "O", "(", "C", ")"], "C"),                           # oxygen with a third neighbour
    (["c", "1"], "#"),                                          # no triple bond on an aromatic ring atom
    (["["], "Uus"),                                             # unsupported element in a bracket
    (["[", "C", "@@", "H"], "C"),                               # element after the H count
    (["[", "C", "H"], "@@"),                                    # chirality after H
    (["[", "C", "+"], "H"),                                     # H after the charge
    (["[", "1", "2", "3"], "4"),                                # isotope of at most three digits
])
def test_valence_constraint_blocks(prefix: list[str], bad: str) -> None:
    vc = ValenceConstraint(TOK)
    st, ok = _feed(vc, prefix)
    assert ok, prefix
    assert not vc.mask(st)[0, TOK.token_to_id(bad)], (prefix, bad)


def test_ring_closure_onto_the_same_atom_stops_the_row() -> None:
    vc = ValenceConstraint(TOK)
    st, ok = _feed(vc, ["C", "1"])
    assert ok
    assert not vc.mask(st)[0, TOK.token_to_id("1")]  # C11 would bond an atom to itself


def test_valence_constraint_passes_a_sample_of_real_molecules() -> None:
    """Teacher-forced canonical SMILES of the generation pairs and a varied set never hit a blocked token."""
    from rdkit import Chem

    smiles = [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in [*PAIRS, *VALID]]
    vc, sc = ValenceConstraint(TOK), SyntaxConstraint(TOK)
    seqs = [TOK.encode(s, add_special=False) + [TOK.eos_id] for s in smiles]
    st, ss = vc.start(len(seqs)), sc.start(len(seqs))
    for p in range(max(map(len, seqs))):
        mask = vc.mask(st) & sc.mask(ss)
        tok = torch.tensor([s[p] if p < len(s) else TOK.eos_id for s in seqs])
        assert bool(mask[torch.arange(len(seqs)), tok].all()), [smiles[i] for i in range(len(seqs)) if not mask[i, tok[i]]]
        st = vc.reorder(st, torch.arange(len(seqs)))
        vc.advance(st, tok)
        sc.advance(ss, tok)


def test_end_check_and_molecule_formula() -> None:
    assert molecule_formula("CCO") == "C2H6O"
    assert molecule_formula("c1cccc1") is None and molecule_formula("") is None
    check = EndCheck(TOK, [None, "C2H6O", "C2H4O"])
    ids = TOK.encode("CCO", add_special=False)
    assert check(0, ids) and check(1, ids) and not check(2, ids)
    assert not check(0, TOK.encode("C(C)(C)(C)(C)C", add_special=False))
    calls = check.calls
    assert check(1, ids) and check.calls == calls  # cached


class _Scripted(torch.nn.Module):
    """A stand-in decoder that strongly prefers the tokens of one SMILES, then <eos>."""

    def __init__(self, smiles: str, max_tgt: int = 24) -> None:
        super().__init__()
        self.script = TOK.encode(smiles, add_special=False)
        self.hparams = {"max_tgt": max_tgt}

        class _Cache:
            def reorder(self, parent: torch.Tensor) -> None:
                pass

        class _Decoder:
            def new_cache(self) -> _Cache:
                return _Cache()

        self.decoder = _Decoder()

    def encode(self, src: torch.Tensor, seg: torch.Tensor, pad: torch.Tensor, bf16: bool = False) -> torch.Tensor:
        return torch.zeros(src.shape[0], 1, 1)

    def step(self, tokens: torch.Tensor, position: int, mem: torch.Tensor, pad: torch.Tensor, cache: object,
             bf16: bool = False) -> torch.Tensor:
        logits = torch.zeros(tokens.shape[0], TOK.vocab_size)
        logits[:, self.script[position] if position < len(self.script) else TOK.eos_id] = 8.0
        return torch.log_softmax(logits, dim=-1)


def test_validity_constraints_turn_an_invalid_favourite_into_valid_ends() -> None:
    """The scripted favourite FC(F)(F)(F)F (a five-bonded carbon) wins without the constraints; with the
    valence constraint and the end check every finished hypothesis is a valid molecule."""
    from nmrlens.models.generate import beam_search

    model = _Scripted("FC(F)(F)(F)F")
    src, seg, pad = torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, dtype=torch.bool)
    syntax = SyntaxConstraint(TOK)
    free = beam_search(model, src, seg, pad, beam=6, bos_id=TOK.bos_id, eos_id=TOK.eos_id, syntax=syntax)[0]  # type: ignore[arg-type]
    assert TOK.decode(free[0][0]) == "FC(F)(F)(F)F" and molecule_formula("FC(F)(F)(F)F") is None
    held = beam_search(model, src, seg, pad, beam=6, bos_id=TOK.bos_id, eos_id=TOK.eos_id, syntax=syntax,  # type: ignore[arg-type]
                       valence=ValenceConstraint(TOK), end_check=EndCheck(TOK, [None]))[0]
    finished = [TOK.decode(ids) for ids, lp in held if lp > -1e3]
    assert finished and all(molecule_formula(s) is not None for s in finished), finished
    assert "FC(F)(F)(F)" in finished  # CF4: the favourite, cut where carbon is full


def _hydrogen_walk(smiles_list: list[str]) -> list[str]:
    """Teacher-force canonical SMILES with their own formulas; return those the hydrogen bound stopped."""
    from rdkit import Chem

    from nmrlens.models.constraints import FormulaConstraint, HydrogenBound

    fc, vc = FormulaConstraint(TOK), ValenceConstraint(TOK)
    smiles = [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in smiles_list]
    formulas = [molecule_formula(s) for s in smiles]
    hb = HydrogenBound(fc, vc, formulas)
    seqs = [TOK.encode(s, add_special=False) for s in smiles]
    fst = fc.start(torch.stack([fc.budget(f) for f in formulas]), torch.ones(len(seqs), dtype=torch.bool))
    vst = vc.start(len(seqs))
    stopped: set[int] = set()
    for p in range(max(map(len, seqs))):
        tok = torch.tensor([s[p] if p < len(s) else TOK.eos_id for s in seqs])
        fc.advance(fst, tok)
        vc.advance(vst, tok)
        stopped |= {i for i, v in enumerate(hb.violated(vst, fst["left"], 1)) if v}
    return [smiles[i] for i in sorted(stopped)]


def test_hydrogen_bound_never_stops_a_molecule_of_its_own_formula() -> None:
    extra = ["CCS", "CSC", "CS(C)=O", "OP(O)O", "CP(C)C", "CC(C)I", "O=S1(=O)CCCC1", "C1CC2CCC1C2", "C1CCC2(CC1)CCCC2",
             "N#Cc1ccccc1", "O=C1C=CC(=O)C=C1", "C1=CCC=C1", "c1ccc2ncccc2c1", "Oc1ccc(O)cc1", "[NH3+]CC([O-])=O"]
    assert _hydrogen_walk([*PAIRS, *VALID, *extra]) == []


@pytest.mark.parametrize("formula, prefix", [
    ("C6H6", ["C", "C", "C", "C"]),           # sealed chain atoms already carry 3 + 2 + 2 H
    ("C6H14", ["C", "1", "C", "C"]),          # a ring leaves room for at most 12 hydrogens
    ("C2H6O", ["C", "=", "C"]),               # ethanol's formula has no room for a double bond
])
def test_hydrogen_bound_stops_hopeless_hypotheses(formula: str, prefix: list[str]) -> None:
    from nmrlens.models.constraints import FormulaConstraint, HydrogenBound

    fc, vc = FormulaConstraint(TOK), ValenceConstraint(TOK)
    hb = HydrogenBound(fc, vc, [formula])
    fst = fc.start(fc.budget(formula)[None], torch.ones(1, dtype=torch.bool))
    vst = vc.start(1)
    hits = []
    for t in prefix:
        tok = torch.tensor([TOK.token_to_id(t)])
        fc.advance(fst, tok)
        vc.advance(vst, tok)
        hits.append(hb.violated(vst, fst["left"], 1)[0])
    assert hits[-1] and not hits[0], (formula, prefix, hits)


def test_refused_ends_free_their_slots_so_the_beam_fills_with_valid_molecules() -> None:
    """With the end check, every returned hypothesis of the scripted favourite is a finished, valid
    molecule (none cut at the length limit), best first; without constraints the beam is full too."""
    from nmrlens.models.generate import beam_search

    model = _Scripted("FC(F)(F)(F)F")
    src, seg, pad = torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, dtype=torch.bool)
    held = beam_search(model, src, seg, pad, beam=8, bos_id=TOK.bos_id, eos_id=TOK.eos_id,  # type: ignore[arg-type]
                       syntax=SyntaxConstraint(TOK), valence=ValenceConstraint(TOK), end_check=EndCheck(TOK, [None]))[0]
    assert len(held) == 8
    assert [lp for _, lp in held] == sorted((lp for _, lp in held), reverse=True)
    assert all(molecule_formula(TOK.decode(ids)) is not None for ids, _ in held), [TOK.decode(i) for i, _ in held]
    assert len({tuple(ids) for ids, _ in held}) == 8


def test_length_bound_never_stops_a_molecule_that_just_fits() -> None:
    """Teacher-forced with its own formula and a length limit it exactly fills (tokens + <bos> + <eos>),
    no molecule is stopped by :func:`cannot_finish`; with no room left at the end, every one is."""
    from rdkit import Chem

    from nmrlens.models.constraints import FormulaConstraint, cannot_finish

    fc, sc = FormulaConstraint(TOK), SyntaxConstraint(TOK)
    extra = ["CC(C)(C)O", "C1CC2CCC1C2", "O=C1C=CC(=O)C=C1", "c1ccc2ncccc2c1", "[NH3+]CC([O-])=O", "C[C@H](N)C(=O)O"]
    for smi in [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in [*PAIRS, *VALID, *extra]]:
        seq = TOK.encode(smi, add_special=False)
        n = len(seq)
        fst = fc.start(fc.budget(molecule_formula(smi))[None], torch.ones(1, dtype=torch.bool))
        sst = sc.start(1)
        for pos, t in enumerate(seq):
            fc.advance(fst, torch.tensor([t]))
            sc.advance(sst, torch.tensor([t]))
            room = n - pos  # L - 2 - pos with L = n + 2
            assert not bool(cannot_finish(room, fst, sst)[0]), (smi, pos)
        assert bool(cannot_finish(0, fst, sst)[0]), smi  # after the last token only <eos> is left: it needs one


def test_a_molecule_longer_than_the_limit_gives_no_cut_candidates_with_a_formula() -> None:
    from nmrlens.models.constraints import FormulaConstraint
    from nmrlens.models.generate import CUT_PENALTY, beam_search

    smi = "CC(C)(C)OC(C)=O"
    n = len(TOK.encode(smi, add_special=False))
    fc = FormulaConstraint(TOK)
    src, seg, pad = torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, dtype=torch.bool)
    for max_tgt in (n + 2, n + 1):
        out = beam_search(_Scripted(smi, max_tgt=max_tgt), src, seg, pad, beam=4, bos_id=TOK.bos_id,  # type: ignore[arg-type]
                          eos_id=TOK.eos_id, syntax=SyntaxConstraint(TOK), valence=ValenceConstraint(TOK),
                          end_check=EndCheck(TOK, [molecule_formula(smi)]), constraint=fc,
                          budgets=fc.budget(molecule_formula(smi))[None])[0]
        if max_tgt == n + 2:
            assert TOK.decode(out[0][0]) == smi and out[0][1] > CUT_PENALTY / 2
        else:
            assert out == []
