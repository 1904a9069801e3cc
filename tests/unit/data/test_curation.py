"""Tests of the curation rules: each rule removes a record/spectrum that violates only it, is
counted, and switching it off keeps the record/spectrum."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from nmrlens.data.curation import (
    RULES,
    CurationConfig,
    Datapoint,
    curate,
    datapoint_from_dict,
    datapoint_to_dict,
    parse_rule_overrides,
    read_datapoints,
    write_datapoints,
)
from nmrlens.errors import ConfigError, OutputExistsError, SpectrumFormatError
from nmrlens.spectra.model import Multiplet


def base_record(rid: int = 1, smiles: str = "CCOC(C)=O") -> dict[str, Any]:
    """Ethyl acetate (C4H8O2): passes every rule."""
    return {
        "nmrshiftdb2_id": rid, "smiles": smiles, "inchikey": "XEKOWRVHYACXOJ-UHFFFAOYSA-N", "source_inchikey": None,
        "molblock": None, "assigned": False, "formula": "C4H8O2",
        "spectra": [
            {"nucleus": "13C", "key": "Spectrum 13C 0", "solvent": "CDCl3", "temperature_K": 298.0, "field_MHz": 100.0,
             "peaks": [{"shift": 171.1, "mult": "S", "src_atoms": [3]}, {"shift": 60.4, "mult": "T", "src_atoms": [1]},
                       {"shift": 21.0, "mult": "Q", "src_atoms": [4]}, {"shift": 14.2, "mult": "Q", "src_atoms": [0]}]},
            {"nucleus": "1H", "key": "Spectrum 1H 1", "solvent": "CDCl3", "temperature_K": None, "field_MHz": None,
             "peaks": [{"shift": 4.12, "nH": 2, "src_atoms": [1]}, {"shift": 2.05, "nH": 3, "src_atoms": [4]},
                       {"shift": 1.26, "nH": 3, "src_atoms": [0]}]},
        ],
    }


def run(records: list[dict[str, Any]], **config: Any) -> tuple[list[Datapoint], dict[str, Any]]:
    rules = config.pop("rules", {})
    dps, report = curate(records, CurationConfig(rules=rules, **config), split_table={})
    return dps, report.to_dict()


def c13(rec: dict[str, Any]) -> dict[str, Any]:
    return rec["spectra"][0]


def h1(rec: dict[str, Any]) -> dict[str, Any]:
    return rec["spectra"][1]


def test_base_record_passes_every_rule() -> None:
    dps, rep = run([base_record()])
    assert len(dps) == 1 and rep["datapoints_out"] == 1
    dp = dps[0]
    assert dp.smiles == "CCOC(C)=O" and dp.formula == "C4H8O2" and dp.inchikey == "XEKOWRVHYACXOJ-UHFFFAOYSA-N"
    assert dp.c13.shifts == [171.1, 60.4, 21.0, 14.2] and [p.mult for p in dp.c13.peaks] == ["S", "T", "Q", "Q"]
    assert [p.nH for p in dp.h1.peaks] == [2, 3, 3] and all(isinstance(p, Multiplet) for p in dp.h1.peaks)
    assert dp.split in ("train", "val", "test") and dp.nmrshiftdb2_id == 1 and dp.source_ids == (1,)
    assert sum(rep["records_removed"].values()) == 0 and sum(rep["spectra_removed"].values()) == 0
    assert rep["h1_nh"]["complete_checked"] == 1
    assert rep["kept_per_nucleus"] == {"13C": 1, "1H": 1, "both": 1, "none": 0}


# ---------------------------------------------------------------------------- molecule rules
# (rule, mutate the base record so that only this rule is violated)
MOLECULE_CASES: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("elements", lambda r: r.update(smiles="CCOC(=O)C[Ge](C)(C)C")),
    ("max_atoms", lambda r: r.update(smiles="C" * 40)),  # C40H82: 40 heavy atoms, 122 with H
    ("max_chiral_centers", lambda r: r.update(smiles="CC(O)C(C)OC(C)=O")),
    ("single_fragment", lambda r: r.update(smiles="CCOC(C)=O.O")),
]


@pytest.mark.parametrize("rule, mutate", MOLECULE_CASES, ids=[c[0] for c in MOLECULE_CASES])
def test_molecule_rule_removes_and_off_keeps(rule: str, mutate: Callable[[dict[str, Any]], None]) -> None:
    rec = base_record()
    mutate(rec)
    on = {rule: True}
    dps, rep = run([rec], rules=on)
    assert dps == [] and rep["records_removed"][rule] == 1
    assert sum(rep["records_removed"].values()) == 1
    dps, rep = run([rec], rules={rule: False})
    assert len(dps) == 1 and sum(rep["records_removed"].values()) == 0


def test_single_fragment_is_off_by_default() -> None:
    rec = base_record(smiles="CCOC(C)=O.O")
    assert len(run([rec])[0]) == 1


def test_chiral_rule_counts_unassigned_centres_and_allows_one() -> None:
    one = base_record(smiles="CCC(C)OC(C)=O")  # one (unassigned) centre: kept
    two = base_record(2, smiles="CC(O)C(C)OC(C)=O")  # two: removed
    dps, rep = run([one, two])
    assert [dp.nmrshiftdb2_id for dp in dps] == [1] and rep["records_removed"]["max_chiral_centers"] == 1
    assert len(run([two], max_chiral_centers=2)[0]) == 1


def test_max_atoms_counts_hydrogens_and_is_a_parameter() -> None:
    rec = base_record(smiles="C" * 40)
    assert run([rec], max_atoms=122)[1]["records_removed"]["max_atoms"] == 0
    assert run([rec], max_atoms=121)[1]["records_removed"]["max_atoms"] == 1


def test_valid_smiles() -> None:
    unparsable = base_record(smiles="C1CC(")
    hypervalent = base_record(2, smiles="CC(C)(C)(C)(C)OC(C)=O")  # parses, fails sanitisation
    dps, rep = run([unparsable, hypervalent])
    assert dps == [] and rep["records_removed"]["valid_smiles"] == 2
    dps, rep = run([unparsable, hypervalent], rules={"valid_smiles": False})
    # off: the unsanitisable molecule passes; a SMILES that cannot be parsed at all is still removed
    assert [dp.nmrshiftdb2_id for dp in dps] == [2] and rep["records_removed"]["valid_smiles"] == 1


def test_has_c13_or_h1_and_has_clean_spectrum() -> None:
    rec = base_record()
    rec["spectra"] = [{"nucleus": "31P", "peaks": [{"shift": 20.0}]}]
    dps, rep = run([rec])
    assert dps == [] and rep["records_removed"]["has_c13_or_h1"] == 1
    dps, rep = run([rec], rules={"has_c13_or_h1": False})
    assert dps == [] and rep["records_removed"]["has_clean_spectrum"] == 1
    dps, rep = run([rec], rules={"has_c13_or_h1": False, "has_clean_spectrum": False})
    assert len(dps) == 1 and dps[0].c13 is None and dps[0].h1 is None
    assert rep["kept_per_nucleus"]["none"] == 1


def test_has_clean_spectrum_removes_record_whose_spectra_all_fail() -> None:
    rec = base_record()
    c13(rec)["peaks"].append({"shift": 10.0})  # 5 peaks > 4 carbons
    h1(rec)["peaks"][0]["nH"] = 1  # sum 7 != 8
    dps, rep = run([rec])
    assert dps == [] and rep["records_removed"]["has_clean_spectrum"] == 1
    assert rep["spectra_removed"]["c13_peak_count"] == 1 and rep["spectra_removed"]["h1_nh_sum"] == 1


# ---------------------------------------------------------------------------- spectrum rules
# (rule, nucleus, mutate, extra config)
SPECTRUM_CASES: list[tuple[str, str, Callable[[dict[str, Any]], None], dict[str, Any]]] = [
    ("c13_valid", "13C", lambda r: c13(r).update(peaks=[]), {}),
    ("c13_shift_range", "13C", lambda r: c13(r)["peaks"][0].update(shift=250.0), {"c13_range": (0.0, 200.0)}),
    ("c13_peak_count", "13C", lambda r: c13(r)["peaks"].append({"shift": 10.0}), {}),
    ("c13_monotonic", "13C", lambda r: c13(r)["peaks"].reverse() or c13(r)["peaks"].insert(0, c13(r)["peaks"].pop(2)), {}),
    ("h1_valid", "1H", lambda r: h1(r).update(peaks=[]), {}),
    ("h1_shift_range", "1H", lambda r: h1(r)["peaks"][0].update(shift=11.0), {"h1_range": (0.0, 10.0)}),
    ("h1_nh_valid", "1H", lambda r: h1(r)["peaks"].append({"shift": 0.5, "nH": 0}), {}),
    ("h1_nh_sum", "1H", lambda r: h1(r)["peaks"][0].update(nH=1), {}),
    ("h1_monotonic", "1H", lambda r: h1(r)["peaks"].insert(0, h1(r)["peaks"].pop(1)), {}),
]


@pytest.mark.parametrize("rule, nucleus, mutate, cfg", SPECTRUM_CASES, ids=[c[0] for c in SPECTRUM_CASES])
def test_spectrum_rule_removes_and_off_keeps(rule: str, nucleus: str, mutate: Callable, cfg: dict[str, Any]) -> None:
    rec = base_record()
    mutate(rec)
    dps, rep = run([copy.deepcopy(rec)], **cfg)
    assert len(dps) == 1, "the other spectrum keeps the molecule"
    kept = dps[0].c13 if nucleus == "13C" else dps[0].h1
    other = dps[0].h1 if nucleus == "13C" else dps[0].c13
    assert kept is None and other is not None
    assert rep["spectra_removed"][rule] == 1 and sum(rep["spectra_removed"].values()) == 1
    dps, rep = run([copy.deepcopy(rec)], rules={rule: False}, **cfg)
    assert sum(rep["spectra_removed"].values()) == 0
    assert (dps[0].c13 if nucleus == "13C" else dps[0].h1) is not None


def test_default_shift_windows_and_unrepresentable() -> None:
    rec = base_record()
    c13(rec)["peaks"][0]["shift"] = 305.0
    h1(rec)["peaks"][2]["shift"] = -4.0
    rep = run([copy.deepcopy(rec)])[1]
    assert rep["spectra_removed"]["c13_shift_range"] == 1 and rep["spectra_removed"]["h1_shift_range"] == 1
    # switched off, the spectra still cannot be represented (outside the model's windows): counted, not kept
    rep = run([rec], rules={"c13_shift_range": False, "h1_shift_range": False, "has_clean_spectrum": False})[1]
    assert rep["spectra_removed"]["unrepresentable"] == 2


def test_nh_incomplete_spectra_are_kept_and_counted() -> None:
    partial, missing = base_record(1), base_record(2, smiles="CCOC(=O)CC")
    del h1(partial)["peaks"][1]["nH"]
    h1(missing)["peaks"] = [{"shift": 4.1}, {"shift": 2.3}, {"shift": 1.2}, {"shift": 1.1}]
    c13(missing)["peaks"] = [{"shift": 174.0}, {"shift": 60.0}, {"shift": 27.0}, {"shift": 14.0}, {"shift": 9.0}]
    dps, rep = run([partial, missing])
    assert all(dp.h1 is not None for dp in dps)
    assert rep["h1_nh"] == {"complete_checked": 0, "incomplete": 1, "missing": 1}
    assert rep["spectra_removed"]["h1_nh_sum"] == 0


def test_nh_valid_off_reads_zero_as_unknown() -> None:
    rec = base_record()
    h1(rec)["peaks"].append({"shift": 0.5, "nH": 0})  # the sum is still 8
    dps, _ = run([rec], rules={"h1_nh_valid": False})
    assert [p.nH for p in dps[0].h1.peaks] == [2, 3, 3, None]


# ---------------------------------------------------------------------------- selection, merging

def test_selection_prefers_more_peaks_for_13c_and_complete_nh_for_1h() -> None:
    rec = base_record()
    short = copy.deepcopy(c13(rec))
    short["peaks"] = short["peaks"][:3]
    more_peaks_no_nh = {"nucleus": "1H", "peaks": [{"shift": 4.1}, {"shift": 2.0}, {"shift": 1.3}, {"shift": 1.2}]}
    rec["spectra"] = [short, c13(rec), more_peaks_no_nh, h1(rec)]
    dps, rep = run([rec])
    assert len(dps[0].c13.peaks) == 4 and [p.nH for p in dps[0].h1.peaks] == [2, 3, 3]
    assert rep["spectra_not_selected"] == {"13C": 1, "1H": 1}


def test_merge_by_canonical_smiles() -> None:
    a = base_record(10)
    b = base_record(11, smiles="O=C(C)OCC")  # the same molecule written differently
    a["spectra"] = [c13(a)]  # a: 13C only
    b["spectra"] = [h1(b)]  # b: 1H only
    dps, rep = run([a, b])
    assert len(dps) == 1 and rep["records_merged"] == 1
    assert dps[0].c13 is not None and dps[0].h1 is not None and dps[0].source_ids == (10, 11)
    dps, rep = run([a, b], rules={"merge_smiles": False})
    assert len(dps) == 2 and rep["records_merged"] == 0


def test_assigned_atoms_and_molblock_kept() -> None:
    from rdkit import Chem

    rec = base_record(5)
    mol = Chem.MolFromSmiles("CCOC(C)=O")
    rec["molblock"] = Chem.MolToMolBlock(mol)
    rec["assigned"] = True
    for p, a in zip(c13(rec)["peaks"], (3, 1, 4, 0)):
        p["atoms"] = [a]
    dps, rep = run([rec])
    assert dps[0].molblock == rec["molblock"] and [p.atoms for p in dps[0].c13.peaks] == [(3,), (1,), (4,), (0,)]
    assert dps[0].assigned and rep["assigned"] == {"13C": 1, "1H": 0}


# ---------------------------------------------------------------------------- splits and report

def test_split_basis_counted() -> None:
    by_key = base_record(1)
    by_source = dict(base_record(2, smiles="CCOC(=O)CC"), inchikey=None, source_inchikey="FKRCODPIKNYEAC-UHFFFAOYSA-N")
    by_smiles = dict(base_record(3, smiles="CCCOC(C)=O"), inchikey=None)
    dps, rep = run([by_key, by_source, by_smiles])
    assert rep["split_basis"] == {"inchikey": 1, "source_inchikey": 1, "smiles": 1, "none": 0}
    from nmrlens.data.splits import split_of_block, smiles_block

    assert dps[1].split == split_of_block("FKRCODPIKNYEAC")
    assert dps[2].split == split_of_block(smiles_block("CCCOC(C)=O"))


def test_report_keys_and_per_split_sums() -> None:
    records = [base_record(i, smiles=s) for i, s in enumerate(["CCOC(C)=O", "CCCOC(C)=O", "CCOC(=O)CC", "CCOC(=O)CCC"])]
    dps, rep = run(records)
    assert set(rep) >= {"config", "records_in", "records_removed", "spectra_removed", "h1_nh", "per_split",
                        "kept_per_nucleus", "split_basis", "datapoints_out"}
    assert rep["records_in"] == 4 and rep["datapoints_out"] == len(dps)
    assert sum(v["datapoints"] for v in rep["per_split"].values()) == len(dps)
    assert set(rep["config"]["rules"]) == set(RULES)
    json.dumps(rep)


# ---------------------------------------------------------------------------- config

def test_config_rejects_unknown_rules_and_bad_values() -> None:
    with pytest.raises(ConfigError, match="unknown rule 'nope'"):
        CurationConfig(rules={"nope": True})
    with pytest.raises(ConfigError, match="expected true or false"):
        CurationConfig(rules={"elements": "off"})
    with pytest.raises(ConfigError, match="max_atoms"):
        CurationConfig(max_atoms=-1)
    with pytest.raises(ConfigError, match="c13_range"):
        CurationConfig(c13_range=(10.0, 0.0))
    assert parse_rule_overrides(["max_chiral_centers=off", "single_fragment=ON"]) == {
        "max_chiral_centers": False, "single_fragment": True}
    for bad in (["max_chiral_centers"], ["nope=on"], ["elements=maybe"]):
        with pytest.raises(ConfigError):
            parse_rule_overrides(bad)
    assert CurationConfig().on("max_chiral_centers") and not CurationConfig().on("single_fragment")


# ---------------------------------------------------------------------------- datapoint files

def test_datapoint_file_round_trip(tmp_path: Path) -> None:
    rec = base_record()
    dps, _ = run([rec, base_record(2, smiles="CCCOC(C)=O")])
    path = tmp_path / "dps.jsonl.gz"
    write_datapoints(dps, path)
    assert read_datapoints(path) == dps
    with pytest.raises(OutputExistsError):
        write_datapoints(dps, path)
    d = datapoint_to_dict(dps[0])
    assert d["c13"]["peaks"][0] == {"shift": 171.1, "mult": "S"}
    with pytest.raises(SpectrumFormatError, match="datapoint.extra"):
        datapoint_from_dict(dict(d, extra=1))
    with pytest.raises(SpectrumFormatError, match="datapoint.split"):
        datapoint_from_dict(dict(d, split="keep"))
    with pytest.raises(SpectrumFormatError, match="datapoint.h1.nucleus"):
        datapoint_from_dict(dict(d, h1=d["c13"]))
