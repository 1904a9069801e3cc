"""``nmrlens.api.elucidate``: the one-call facade (real shift model, the test library)."""

from __future__ import annotations

from nmrlens import api

from .helpers import BENZYL_ACETATE, EXAMPLE_TXT, LIBRARY


def test_api_elucidate_with_a_library_file() -> None:
    res = api.elucidate(str(EXAMPLE_TXT), formula="C9H10O2", library=str(LIBRARY), k=3)
    assert [c.rank for c in res.candidates] == [1, 2, 3]
    assert res.candidates[0].smiles == BENZYL_ACETATE
    assert res.candidates[0].assignment is not None and not res.candidates[0].unexplained
    assert res.components["library"].startswith("used")
    assert api.elucidator(str(LIBRARY)) is api.elucidator(str(LIBRARY))  # built once, shared
