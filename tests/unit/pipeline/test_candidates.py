"""Candidate sources: canonicalisation, merging, formula filter, the in-memory library."""

from __future__ import annotations

import pytest

from nmrlens.errors import InvalidMoleculeError
from nmrlens.pipeline.candidates import (
    LibrarySource,
    ListSource,
    formula_matches,
    make_candidate,
    merge_candidates,
)
from nmrlens.pipeline.query import load_query

from .helpers import BENZYL_ACETATE, EXAMPLE_TXT, LIBRARY


def test_make_candidate_canonicalises() -> None:
    c = make_candidate("c1ccccc1COC(C)=O", "given", 0.5)
    assert c.smiles == BENZYL_ACETATE
    assert c.formula == "C9H10O2"
    assert c.inchikey == "QUKGYYKBILRGFE-UHFFFAOYSA-N"
    assert c.block == "QUKGYYKBILRGFE"
    assert c.source_scores == {"given": 0.5}
    with pytest.raises(InvalidMoleculeError):
        make_candidate("C1CC", "given")


def test_merge_keeps_one_entry_per_inchikey() -> None:
    a = make_candidate(BENZYL_ACETATE, "library", 0.9)
    b = make_candidate("c1ccccc1COC(C)=O", "generate", 0.3)
    c = make_candidate("CCO", "generate", 0.1)
    merged = merge_candidates([[a], [b, c]])
    assert [m.smiles for m in merged] == [BENZYL_ACETATE, "CCO"]
    assert merged[0].origins == ("library", "generate")
    assert merged[0].source_scores == {"library": 0.9, "generate": 0.3}


def test_formula_matches_ignores_order_and_charge() -> None:
    assert formula_matches("C9H10O2", "H10C9O2")
    assert formula_matches("C4H12N+", "C4H12N")
    assert not formula_matches("C9H10O2", "C9H12O2")
    assert not formula_matches("C9H10O2", "not a formula")


def test_list_source_filters_by_formula() -> None:
    src = ListSource([BENZYL_ACETATE, "CCO", "COC(=O)Cc1ccccc1"])
    q = load_query(EXAMPLE_TXT.read_text())
    assert [c.smiles for c in src.candidates(q, formula="C9H10O2", k=10)] == [BENZYL_ACETATE, "COC(=O)Cc1ccccc1"]
    assert len(src.candidates(q, formula=None, k=2)) == 2
    with pytest.raises(InvalidMoleculeError, match=r"candidates\[1\]"):
        ListSource(["CCO", "C1CC"])


def test_library_source_ranks_an_identical_spectrum_first() -> None:
    from nmrlens import io

    lib = LibrarySource.from_path(LIBRARY)
    assert len(lib) == 10
    entry = io.read(LIBRARY)[3]  # methyl p-toluate, spectra as stored
    q = entry.with_(smiles=None, id=None)
    hits = lib.candidates(q, formula=None, k=3)
    assert hits[0].smiles == entry.smiles
    assert hits[0].source_scores["library"] == pytest.approx(1.0)
    assert hits[0].reference is not None and hits[0].library_id == "lib4"
    assert hits[1].source_scores["library"] < 1.0
    # with the formula only the C9H10O2 isomers are compared
    same = lib.candidates(q, formula="C9H10O2", k=20)
    assert len(same) == 7 and all(c.formula == "C9H10O2" for c in same)
    assert lib.candidates(q, formula="C99H2", k=5) == []


def test_library_from_records_reads_nmrshiftdb2_dicts() -> None:
    rec = {"nmrshiftdb2_id": 7, "smiles": "CCO", "inchikey": "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", "formula": "C2H6O",
           "spectra": [{"nucleus": "13C", "peaks": [{"shift": 58.3}, {"shift": 18.2}]},
                       {"nucleus": "19F", "peaks": [{"shift": -70.0}]},
                       {"nucleus": "1H", "peaks": [{"shift": "bad"}]}]}
    lib = LibrarySource.from_records([rec, {"smiles": None}])
    assert len(lib) == 1
    e = lib.entries[0]
    assert e.id == "7" and [s.nucleus for s in e.spectra] == ["13C"]
    lib2 = LibrarySource.from_records([rec], exclude=lambda r: r["nmrshiftdb2_id"] == 7)
    assert len(lib2) == 0
