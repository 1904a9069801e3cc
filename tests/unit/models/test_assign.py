"""Assignment: optimal assignment rules, hand-made molecules, the dual model (overfit, reload)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrlens.chem import parse_smiles
from nmrlens.data.shiftdata import assign_with_costs, match_classes_to_peaks
from nmrlens.errors import InvalidMoleculeError, SpectrumFormatError
from nmrlens.evaluate.assignment import AssignExample
from nmrlens.models.assign import (
    AssignModel,
    Assigner,
    AssignOptions,
    pad_peaks,
    pair_confidence,
    prepare_mol,
    solve,
)
from nmrlens.models.checkpoint import load_checkpoint, save_checkpoint
from nmrlens.models.shifts import ShiftPredictor
from nmrlens.nn.graph import collate_graphs
from nmrlens.spectra.model import Multiplet, Peak, Query, Spectrum1D
from nmrlens.train.assign import TrainSection, batch_loss


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One torch thread: on a busy 2-core machine two threads make tiny-graph inference ~100x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def baseline() -> Assigner:
    """The shipped shift model with the baseline assigner (no AssignModel)."""
    return Assigner(ShiftPredictor.load(), None, AssignOptions(weight=0.0))


def _c13(*peaks: tuple[float, str | None]) -> Spectrum1D:
    return Spectrum1D("13C", [Peak(s, m) for s, m in peaks])


def _by_atom(result, nucleus: str = "13C") -> dict[int, float | None]:
    return {r.atom: r.shift for r in result.rows if r.nucleus == nucleus}


# --- the optimal assignment ---------------------------------------------------------------------


def test_general_costs_reproduce_match_classes_to_peaks() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        pred, peaks = rng.uniform(0, 200, rng.integers(1, 9)), rng.uniform(0, 200, rng.integers(1, 9))
        expected = match_classes_to_peaks(pred, peaks)
        got = assign_with_costs(np.abs(pred[:, None] - peaks[None, :]))
        assert got.tolist() == expected.tolist()


def test_cover_peaks_gives_every_peak_a_class() -> None:
    # both classes prefer peak 0; with cover, peak 1 must be used
    cost = np.array([[0.0, 5.0], [0.1, 5.0]])
    assert assign_with_costs(cost, reuse_cost=1.0, max_share=2, cover_peaks=False).tolist() == [0, 0]
    assert sorted(assign_with_costs(cost, reuse_cost=1.0, max_share=2, cover_peaks=True).tolist()) == [0, 1]


def test_max_share_lets_one_peak_take_many_classes() -> None:
    cost = np.array([[0.0, 9.0], [0.0, 9.0], [0.0, 9.0], [9.0, 0.0]])
    assert assign_with_costs(cost, reuse_cost=0.5).tolist().count(0) == 2  # default: ceil(4/2) = 2 per peak
    assert assign_with_costs(cost, reuse_cost=0.5, max_share=4).tolist() == [0, 0, 0, 1]


def test_conflict_forbids_a_pair_and_confidence_is_zero_there() -> None:
    cost = np.array([[0.0, 1.0], [1.0, 0.0]])
    conflict = np.array([[True, False], [False, False]])
    assigned = solve(cost, conflict)
    assert assigned.tolist() == [1, 0]
    conf = pair_confidence(cost, conflict, np.array([0, 0]))
    assert conf[0] == 0.0 and 0 < conf[1] < 1


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 10_000))
def test_solve_is_a_valid_assignment(n_cls: int, n_pk: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 10, (n_cls, n_pk))
    assigned = solve(cost, None, cover_peaks=True)
    assert ((assigned >= 0) & (assigned < n_pk)).all()
    used = set(assigned.tolist())
    if n_cls >= n_pk:
        assert used == set(range(n_pk))  # every peak explained
    else:  # a peak is shared while others stay free only when that is cheaper, reuse cost included
        from scipy.optimize import linear_sum_assignment

        counts = np.bincount(assigned, minlength=n_pk)
        total = cost[np.arange(n_cls), assigned].sum() + 3.0 * np.clip(counts - 1, 0, None).sum()
        rows, cols = linear_sum_assignment(cost)
        assert total <= cost[rows, cols].sum() + 1e-9
    conf = pair_confidence(cost, None, assigned)
    assert ((conf > 0) & (conf <= 1)).all()


# --- hand-made molecules (shipped shift model) ----------------------------------------------------


def test_toluene_equivalent_carbons_share_a_peak(baseline: Assigner) -> None:
    spec = _c13((137.9, "S"), (129.0, "D"), (128.2, "D"), (125.3, "D"), (21.4, "Q"))
    res = baseline.assign("Cc1ccccc1", spec)
    got = _by_atom(res)
    assert got[0] == 21.4 and got[1] == 137.9 and got[4] == 125.3
    assert got[2] == got[6] and got[3] == got[5]  # ortho pair and meta pair share peaks
    assert {got[2], got[3]} == {129.0, 128.2}
    assert all(0 < r.confidence <= 1 for r in res.rows)
    # the output query carries the atoms on its peaks
    atoms = {p.shift: p.atoms for p in res.query.spectrum("13C").peaks}
    assert atoms[21.4] == (0,) and len(atoms[129.0]) == 2 and len(atoms[128.2]) == 2


def test_prenyl_methyls_take_separate_peaks_in_the_drawn_geometry(baseline: Assigner) -> None:
    # 3-methylbut-2-en-1-ol: the methyl cis to CH2OH (Z) at 17.8 ppm, the trans one (E) at 25.8 ppm; the
    # graph cannot tell them apart, the drawing can (nmrlens.chem.heterotopic)
    from rdkit import Chem
    from rdkit.Chem import AllChem, rdDepictor, rdMolTransforms

    mol3d = Chem.AddHs(Chem.MolFromSmiles("CC(C)=CCO"))
    assert AllChem.EmbedMolecule(mol3d, randomSeed=3) == 0
    mol3d = Chem.RemoveHs(mol3d)
    mol = Chem.Mol(mol3d)
    rdDepictor.GenerateDepictionMatching3DStructure(mol, mol3d)
    cis = min((0, 2), key=lambda m: abs(rdMolTransforms.GetDihedralDeg(mol3d.GetConformer(), m, 1, 3, 4)))
    spec = _c13((136.5, "S"), (123.5, "D"), (59.2, "T"), (25.8, "Q"), (17.8, "Q"))
    got = _by_atom(baseline.assign(Chem.MolToMolBlock(mol), spec))
    assert got[cis] == 17.8 and got[2 - cis] == 25.8


def test_multiplicity_overrides_shift_proximity(baseline: Assigner) -> None:
    # ethyl acetate with swapped CH3 shifts but S/D/T/Q letters: the letters decide the carbonyl/CH2
    spec = _c13((171.0, "S"), (60.4, "T"), (21.0, "Q"), (14.2, "Q"))
    got = _by_atom(baseline.assign("CCOC(C)=O", spec))
    assert got[3] == 171.0 and got[1] == 60.4 and {got[0], got[4]} == {21.0, 14.2}
    # a deliberately misleading list: two peaks near 60 ppm, only one is a CH2 (T)
    spec = _c13((171.0, "S"), (61.0, "Q"), (60.0, "T"), (14.2, "Q"))
    got = _by_atom(baseline.assign("CCOC(C)=O", spec))
    assert got[1] == 60.0  # the CH2 takes the T peak, not the closer-looking Q


def test_fewer_peaks_than_classes_overlap_and_more_peaks_leave_some_free(baseline: Assigner) -> None:
    spec = _c13((171.0, None), (60.4, None), (20.5, None))  # the two CH3 overlap
    got = _by_atom(baseline.assign("CCOC(C)=O", spec))
    assert set(got.values()) == {171.0, 60.4, 20.5} and list(got.values()).count(20.5) == 2
    spec = _c13((171.0, None), (100.0, None), (60.4, None), (21.0, None), (14.2, None))  # an impurity
    res = baseline.assign("CCOC(C)=O", spec)
    assert 100.0 not in _by_atom(res).values()
    assert next(p for p in res.query.spectrum("13C").peaks if p.shift == 100.0).atoms == ()


def test_h1_groups_and_nh(baseline: Assigner) -> None:
    h1 = Spectrum1D("1H", [Multiplet(4.12, 4.12, "q", nH=2), Multiplet(2.04, 2.04, "s", nH=3),
                           Multiplet(1.26, 1.26, "t", nH=3)])
    res = baseline.assign("CCOC(C)=O", h1)
    got = _by_atom(res, "1H")
    assert got == {0: 1.26, 1: 4.12, 4: 2.04}
    # toluene: one 5H aromatic multiplet takes all three aromatic groups
    h1 = Spectrum1D("1H", [Multiplet(7.1, 7.3, "m", nH=5), Multiplet(2.35, 2.35, "s", nH=3)])
    got = _by_atom(baseline.assign("Cc1ccccc1", h1), "1H")
    assert got[0] == 2.35 and all(got[a] == pytest.approx(7.2) for a in (2, 3, 4, 5, 6))


def test_exchangeable_proton_may_stay_unassigned(baseline: Assigner) -> None:
    h1 = Spectrum1D("1H", [Multiplet(3.69, 3.69, "q", nH=2), Multiplet(1.22, 1.22, "t", nH=3)])
    got = _by_atom(baseline.assign("CCO", h1), "1H")
    assert got[0] == 1.22 and got[1] == 3.69 and got[2] is None  # integrals leave no room for OH
    h1 = Spectrum1D("1H", [Multiplet(3.69, 3.69, "q", nH=2), Multiplet(2.61, 2.61, "br s", nH=1),
                           Multiplet(1.22, 1.22, "t", nH=3)])
    got = _by_atom(baseline.assign("CCO", h1), "1H")
    assert got == {0: 1.22, 1: 3.69, 2: 2.61}
    # an OH far from its predicted shift still takes the free 1H peak (wide sd for exchangeable protons)
    h1 = Spectrum1D("1H", [Multiplet(3.30, 3.30, "s", nH=3), Multiplet(1.0, 1.0, "br s", nH=1)])
    assert _by_atom(baseline.assign("CO", h1), "1H") == {0: 3.30, 1: 1.0}


def test_bad_input_raises_nmrlens_errors(baseline: Assigner) -> None:
    with pytest.raises(InvalidMoleculeError):
        baseline.assign("C1CC", _c13((10.0, None)))
    with pytest.raises(SpectrumFormatError, match="13C peak list"):
        baseline.assign("CCO", Spectrum1D("19F", [Peak(-120.0)]))
    with pytest.raises(SpectrumFormatError):
        baseline.assign("CCO", Query())


# --- the dual alignment model --------------------------------------------------------------------

TINY = {  # SMILES -> 13C shift per atom (None: not a carbon)
    "CCOC(C)=O": [14.2, 60.4, None, 171.0, 21.0, None],
    "Cc1ccccc1": [21.4, 137.9, 129.0, 128.2, 125.3, 128.2, 129.0],
    "CC(C)=O": [30.8, 206.7, 30.8, None],
    "CCO": [18.4, 58.3, None],
}


def _examples() -> list[AssignExample]:
    out = []
    for smi, shifts in TINY.items():
        info = prepare_mol(parse_smiles(smi))
        truth = {i: [s] for i, s in enumerate(shifts) if s is not None}
        peaks = sorted(set(truth_s[0] for truth_s in truth.values()), reverse=True)
        mult = [int(info.graph.n_hs[next(i for i, v in truth.items() if v[0] == p)]) for p in peaks]
        out.append(AssignExample(0, "train", smi, "", info, np.asarray(peaks), np.asarray(mult), truth))
    return out


def _tiny_model() -> AssignModel:
    torch.manual_seed(0)
    return AssignModel(hidden=32, layers=2, emb_dim=16, graph_dim=16, peak_hidden=32, rbf_step=5.0, heads=2)


def test_overfits_a_tiny_batch() -> None:
    model = _tiny_model()
    examples = _examples()
    tc = TrainSection(local_sigma_ppm=0.3, aux_weight=1.0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(300):
        loss, parts = batch_loss(model, examples, tc)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * first
    assert parts["aux_mae"] < 10.0
    model.eval()
    assigner = Assigner(ShiftPredictor.load(), model, AssignOptions(weight=1.0, model_tau=model.log_tau_node.exp().item()))
    for ex in examples:
        assigner.predict([ex.info])
        peak_emb = assigner.embed_spectra([(ex.c13_shifts, ex.c13_mult)])[0][0]
        assigned, conf, _ = assigner.assign_c13_arrays(ex.info, ex.c13_shifts, ex.c13_mult, peak_emb)
        for cls, j in zip(ex.info.c_classes, assigned):
            for node in cls:
                assert ex.c13_shifts[j] == ex.c13_truth[int(node)][0]
    # graph level: each training molecule is closest to its own spectrum
    g = collate_graphs([ex.info.graph for ex in examples])
    n_hs = torch.from_numpy(np.concatenate([ex.info.graph.n_hs for ex in examples]))
    with torch.no_grad():
        out = model(g, n_hs, *pad_peaks([(ex.c13_shifts, ex.c13_mult) for ex in examples]))
    assert (out.graph @ out.spectrum.T).argmax(1).tolist() == list(range(len(examples)))


def test_checkpoint_reload_gives_identical_outputs(tmp_path: Path) -> None:
    model = _tiny_model().eval()
    examples = _examples()
    stem = save_checkpoint(model, tmp_path / "assign_tiny", extra={"options": {"weight": 0.7}})
    again, sidecar = load_checkpoint(stem)
    assert isinstance(again, AssignModel) and again.hparams == model.hparams
    g = collate_graphs([ex.info.graph for ex in examples])
    n_hs = torch.from_numpy(np.concatenate([ex.info.graph.n_hs for ex in examples]))
    batch = pad_peaks([(ex.c13_shifts, ex.c13_mult) for ex in examples])
    with torch.no_grad():
        a, b = model(g, n_hs, *batch), again(g, n_hs, *batch)
    for name in ("atom", "peak", "graph", "spectrum", "c13"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    loaded = Assigner.load(str(stem))
    assert loaded.options.weight == 0.7 and loaded.model is not None


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["CCOC(C)=O", "Cc1ccccc1", "OCC(O)CO", "c1ccncc1", "CC(C)(C)c1ccc(O)cc1"]),
       st.lists(st.tuples(st.floats(-20, 240), st.sampled_from([None, "S", "D", "T", "Q"])), min_size=1, max_size=12),
       st.lists(st.tuples(st.floats(0, 12), st.one_of(st.none(), st.integers(1, 6))), max_size=8))
def test_any_peak_list_gives_a_valid_assignment(baseline: Assigner, smiles: str, c13: list, h1: list) -> None:
    spectra = [_c13(*c13)]
    if h1:
        spectra.append(Spectrum1D("1H", [Multiplet(s, s, None, (), n) for s, n in h1]))
    res = baseline.assign(smiles, spectra)
    mol = parse_smiles(smiles)
    n_c = sum(1 for a in mol.GetAtoms() if a.GetSymbol() == "C")
    rows13 = [r for r in res.rows if r.nucleus == "13C"]
    assert len(rows13) == n_c and all(r.peak is not None for r in rows13)  # no optional carbons
    n_pk = len(spectra[0])
    used = {r.peak for r in rows13}
    assert used <= set(range(n_pk))
    for r in res.rows:
        if r.peak is not None:
            assert 0.0 <= r.confidence <= 1.0
            sp = res.query.spectrum(r.nucleus)
            assert r.atom in sp.peaks[r.peak].atoms and r.shift == pytest.approx(sp.peaks[r.peak].shift)
