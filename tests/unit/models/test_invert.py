"""Invertible network: exact inversion, tiny-batch overfit, checkpoint reload, losses, scoring, inversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nmrlens.chem.bondmatrix import MatrixSpec, encode
from nmrlens.errors import ConfigError, SpectrumFormatError
from nmrlens.evaluate.inn import macro_f1
from nmrlens.models.checkpoint import load_checkpoint, save_checkpoint
from nmrlens.models.invert import (
    InversePredictor,
    ReversibleNet,
    code_loss,
    code_scores,
    neighbour_mask,
    plausibility_terms,
    shift_scores,
)
from nmrlens.spectra.code import spectrum_code

TINY = dict(blocks=[1, 1, 1, 1, 1], hidden=[8, 8, 16, 16, 32])
MOLS = {  # approximate 13C shifts (ppm)
    "CC": [7.0], "C=C": [123.0], "CCC": [15.9, 16.3], "c1ccccc1": [128.4], "CC(C)C": [24.6, 25.2],
    "C1CCCCC1": [27.0], "CC=C": [19.4, 115.9, 133.9], "C#CC": [3.0, 67.0, 80.0],
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _data(spec: MatrixSpec) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.stack([encode(s, spec) for s in MOLS]))
    c = torch.from_numpy(np.stack([spectrum_code(v) for v in MOLS.values()]).astype(np.float32))
    return x, c


def _randomise(model: torch.nn.Module, scale: float = 0.05) -> None:
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)


def _overfit(model: ReversibleNet, steps: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x, c = _data(model.spec)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(steps):
        _, y = model(x)
        loss = code_loss(y, c, pos_weight=2.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    model.fit_statistics(x, c)
    return x, c


@pytest.fixture(scope="module")
def trained() -> ReversibleNet:
    torch.manual_seed(0)
    model = ReversibleNet(**TINY)
    _overfit(model)
    return model


@pytest.mark.parametrize("layout,channels", [("revmolspec", 4), ("general", 8)])
def test_dimensions(layout: str, channels: int) -> None:
    m = ReversibleNet(layout=layout, **TINY)
    x = torch.zeros(3, channels, 16, 16)
    z, y = m(x)
    assert z.shape == (3, channels * 256 - 128) and y.shape == (3, 128)
    assert m.z_free_dim == channels * 256 - 128 and m.out_shape == (channels * 256, 1, 1)
    assert m.inverse(z, y).shape == x.shape


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-4), (torch.float64, 1e-10)])
def test_exact_inversion(dtype: torch.dtype, tol: float) -> None:
    m = ReversibleNet(layout="general", blocks=[2, 1, 1, 1, 2], hidden=[8, 8, 16, 16, 32], clamp=3.0)
    _randomise(m)
    m = m.to(dtype)
    x = torch.from_numpy(np.stack([encode(s, m.spec) for s in ["CC(=O)Nc1ccc(O)cc1", "Brc1cccs1", "CCO"]])).to(dtype)
    with torch.no_grad():
        z, y = m(x)
        assert float(y.abs().max()) > 1e-3  # not the identity
        assert float((m.inverse(z, y) - x).abs().max()) < tol
        assert float((m.reconstruct(x) - x).abs().max()) < tol


def test_overfits_a_tiny_batch(trained: ReversibleNet) -> None:
    x, c = _data(trained.spec)
    with torch.no_grad():
        _, y = trained(x)
    assert macro_f1((y > 0).numpy(), c.numpy()) == 1.0
    on = c > 0.5
    assert float(trained.y_on[on.any(0)].min()) > 0 > float(trained.y_off.max())
    assert torch.allclose(trained.bit_freq, c.mean(0))
    assert float(trained.z_std.min()) > 0


def test_checkpoint_reload_gives_identical_outputs(trained: ReversibleNet, tmp_path: Path) -> None:
    trained.code_threshold.fill_(0.25)
    stem = save_checkpoint(trained, tmp_path / "inn", metrics={"m": 1.0})
    model, sidecar = load_checkpoint(stem)
    assert sidecar["model_class"] == "ReversibleNet" and sidecar["hparams"]["blocks"] == TINY["blocks"]
    x, c = _data(model.spec)
    with torch.no_grad():
        for a, b in zip(model(x), trained(x)):
            assert torch.equal(a, b)
        g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
        s1 = model.inverse(model.sample_latents(4, 0.8, g1), model.query_logits(c[:4]))
        s2 = trained.inverse(trained.sample_latents(4, 0.8, g2), trained.query_logits(c[:4]))
    assert torch.equal(s1, s2)
    assert float(model.code_threshold) == 0.25
    trained.code_threshold.fill_(0.0)
    # weights stored in half precision load into the float32 model and stay exactly invertible
    half = ReversibleNet(**TINY)
    half.load_state_dict(trained.state_dict())
    stem2 = save_checkpoint(half.half(), tmp_path / "inn_half")
    m2, _ = load_checkpoint(stem2)
    assert next(m2.parameters()).dtype == torch.float32
    assert stem2.with_suffix(".safetensors").stat().st_size < stem.with_suffix(".safetensors").stat().st_size
    with torch.no_grad():
        # float32 rounding scales with the activations (this overfit tiny model reaches |y| ~ 10^3, where one
        # float32 step is ~6e-5): relative to them the error stays at rounding level; in float64 it is exact
        z, y = m2(x)
        scale = max(1.0, float(z.abs().max()), float(y.abs().max()))
        assert float((m2.reconstruct(x) - x).abs().max()) < 1e-6 * scale
        m64 = m2.double()
        assert float((m64.reconstruct(x.double()) - x.double()).abs().max()) < 1e-10


def test_query_logits_and_neighbours() -> None:
    m = ReversibleNet(**TINY)
    m.y_on.fill_(3.0)
    m.y_adj.fill_(-1.0)
    m.y_off.fill_(-5.0)
    code = torch.zeros(1, 128)
    code[0, [10, 50, 51]] = 1
    assert torch.nonzero(neighbour_mask(code)[0]).flatten().tolist() == [9, 11, 49, 52]
    q = m.query_logits(code)[0]
    assert q[10] == 3.0 and q[11] == -1.0 and q[49] == -1.0 and q[0] == -5.0 and q[51] == 3.0


def test_code_loss_tolerates_neighbouring_bits() -> None:
    code = torch.zeros(1, 128)
    code[0, 40] = 1
    near, far = torch.full((1, 128), -6.0), torch.full((1, 128), -6.0)
    near[0, 41] = 6.0
    far[0, 90] = 6.0
    assert code_loss(near, code) < code_loss(far, code)
    exact = torch.full((1, 128), -6.0)
    exact[0, 40] = 6.0
    assert code_loss(exact, code) < code_loss(near, code)
    # the peer's weighting 1 / (1 + distance to the nearest set bit): a far false positive costs little
    bce = torch.nn.functional.binary_cross_entropy_with_logits(far, code, reduction="none")[0]
    w = 1.0 / (1.0 + (torch.arange(128.0) - 40).abs())
    expected = (w * bce).sum() / w.sum()
    torch.testing.assert_close(code_loss(far, code, tolerance="inverse_distance"), expected)
    assert code_loss(far, code, tolerance="inverse_distance") < code_loss(near, code, tolerance="inverse_distance")
    with pytest.raises(ConfigError, match="tolerance"):
        code_loss(exact, code, tolerance="none")


def test_plausibility_terms() -> None:
    m = ReversibleNet(layout="general", **TINY)
    x = torch.from_numpy(np.stack([encode(s, m.spec) for s in ["CC(=O)O", "c1ccccc1"]]))
    real = plausibility_terms(m, x, x)
    assert all(float(v) == 0.0 for v in real.values())
    bad = x.clone()
    bad[0, 0, 1, 3:8] = 1.0  # carbon 1 with five more single bonds
    bad[1, 0, 5, 2] = 0.5     # lower triangle: never used
    bad[1, 1, 3, 9] = 0.5     # half a double bond
    terms = plausibility_terms(m, bad, x)
    assert float(terms["valence"]) > 0 and float(terms["zero"]) > 0 and float(terms["binary"]) > 0
    assert float(terms["density"]) > 0
    o = m.spec.elements.index("O")
    oxy = x[:1].clone()
    oxy[0, 0, 0, 1] = 0.0
    oxy[0, :, 0, 0] = 0.0
    oxy[0, o, 0, 0] = 1.0   # atom 0 is now an oxygen with 1 bond (CH3 -> OH): fine
    assert float(plausibility_terms(m, oxy, oxy)["valence"]) == 0.0


def test_scores() -> None:
    code = np.zeros(128, dtype=np.uint8)
    code[[10, 70]] = 1
    good = np.full((3, 128), 0.01)
    good[0, [10, 70]] = 0.95     # exact
    good[1, [11, 70]] = 0.95     # one bit off: tolerated
    good[2, [30, 100]] = 0.95    # wrong
    s = code_scores(good, code)
    assert s[0] >= s[1] > s[2]
    sh = shift_scores([[20.0, 130.0], [21.0, 131.0], None, [60.0]], [20.0, 130.0])
    assert sh[0] == 0.0 and sh[0] > sh[1] > sh[3] and sh[2] == -10.0


def test_predictor_inverts_and_ranks(trained: ReversibleNet) -> None:
    p = InversePredictor(trained, {"extra": {"refine_steps": 1}})
    bits, probs = p.forward_code("CC=C")
    assert bits.shape == (128,) and np.array_equal(bits, spectrum_code(MOLS["CC=C"]))
    res = p.invert(MOLS["CC=C"], 40, seed=3, use_shift_model=False)
    assert res.n_samples == 40 and 0 <= res.n_valid <= 40 and res.ranking == "forward_code"
    scores = [c.score for c in res.candidates]
    assert scores == sorted(scores, reverse=True)
    assert len({c.key for c in res.candidates}) == len(res.candidates)
    again = p.invert(np.asarray(spectrum_code(MOLS["CC=C"])), 40, seed=3, use_shift_model=False)
    assert [c.smiles for c in again.candidates] == [c.smiles for c in res.candidates]
    ranked = p.rank(res.code, [("CC=C", "k1", 1), ("CCCCCC", "k2", 5)], shifts=MOLS["CC=C"],
                    predicted_shifts=[[19.0, 116.0, 134.0], [14.0, 23.0, 32.0]])
    assert ranked[0].smiles == "CC=C" and ranked[0].shift_score is not None
    with pytest.raises(SpectrumFormatError):
        p.invert([], 10)
    with pytest.raises(SpectrumFormatError):
        p.invert({"a": 1}, 10)
    with pytest.raises(ConfigError):
        p.sample_structures(res.code, 0)


def test_bad_hparams() -> None:
    with pytest.raises(ConfigError):
        ReversibleNet(blocks=[1, 1], hidden=[8])
    with pytest.raises(ConfigError):
        ReversibleNet(blocks=[1] * 6, hidden=[8] * 6)  # 5 space-to-depth steps do not divide 16
    with pytest.raises(ConfigError):
        ReversibleNet(code_bits=1024)


def test_bank_sampler_edits_kept_structures(trained: ReversibleNet, tmp_path: Path) -> None:
    x, c = _data(trained.spec)
    m = ReversibleNet(**{**TINY, "bank_size": 8})
    m.load_state_dict({k: v for k, v in trained.state_dict().items() if not k.startswith("bank_")}, strict=False)
    m.eval()
    m.set_bank(x, c)
    bx, bc = m.bank()
    assert torch.equal(bx, x) and torch.equal(bc, c) and int(m.bank_count) == 8
    # a query equal to a kept code, no noise: the minimal edit changes nothing, the structure comes back
    g = torch.Generator().manual_seed(0)
    z, y = m.bank_latents(c[3:4], 5, neighbours=1, temperature=0.0, generator=g)
    with torch.no_grad():
        back = m.inverse(z, y)
    assert float((back - x[3]).abs().max()) < 1e-4
    p = InversePredictor(m, {"extra": {"sampler": "bank", "refine_steps": 0, "neighbours": 1}})
    smp = p.sample_structures(c[3].numpy(), 4, temperature=0.0)
    assert smp.structures[0][0] == "c1ccccc1" and smp.structures[0][2] == 4 and smp.n_valid_strict == 4
    mixed = p.sample_structures(c[3].numpy(), 6, sampler="mixed")
    assert mixed.n_samples == 6
    with pytest.raises(ConfigError, match="sampler"):
        p.sample_structures(c[3].numpy(), 4, sampler="uniform")
    stem = save_checkpoint(m, tmp_path / "bank")
    m2, _ = load_checkpoint(stem)
    assert torch.equal(m2.bank()[0], x)
    with pytest.raises(ConfigError, match="bank_size"):
        trained.bank_latents(c[:1], 2)
