"""``api.assign``: the shipped assigner and the baseline on one molecule, every input shape."""

from __future__ import annotations

import pytest
import torch

from nmrlens import api, io
from nmrlens.spectra.model import Multiplet, Peak, Query, Spectrum1D

C13 = Spectrum1D("13C", [Peak(171.0, "S"), Peak(60.4, "T"), Peak(21.0, "Q"), Peak(14.2, "Q")])
H1 = Spectrum1D("1H", [Multiplet(4.12, 4.12, "q", (7.1,), 2), Multiplet(2.04, 2.04, "s", (), 3),
                       Multiplet(1.26, 1.26, "t", (7.1,), 3)])


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("checkpoint, method", [(None, "fused(w=0.5)"), ("none", "baseline")])
@pytest.mark.parametrize("spectra", [Query(spectra=(C13, H1)), [C13, H1], C13])
def test_assign_ethyl_acetate(checkpoint: str | None, method: str, spectra: object) -> None:
    res = api.assign("CCOC(C)=O", spectra, checkpoint=checkpoint)
    assert res.method == method and res.smiles == "CCOC(C)=O"
    c13 = {r.atom: r.shift for r in res.rows if r.nucleus == "13C"}
    assert c13 == {0: 14.2, 1: 60.4, 3: 171.0, 4: 21.0}
    if not isinstance(spectra, Spectrum1D):
        assert {r.atom: r.shift for r in res.rows if r.nucleus == "1H"} == {0: 1.26, 1: 4.12, 4: 2.04}
    # the result's query writes and reads back as NMReDATA with the same atom lists
    (back,) = io.loads(io.dumps(res.query, "nmredata"), "nmredata")
    assert [p.atoms for p in back.spectrum("13C").peaks] == [(3,), (1,), (4,), (0,)]
