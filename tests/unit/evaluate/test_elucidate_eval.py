"""``evaluate elucidate``: record reading, held-out selection, hit counting, parse failures."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from nmrlens.evaluate import elucidate as ev
from nmrlens.pipeline import Elucidator, ListSource

from tests.unit.pipeline.helpers import BENZYL_ACETATE, LookupPredictor

H1 = "7.39 – 7.29 (m, 5H), 5.10 (s, 2H), 2.09 (s, 3H)."
C13 = "170.9, 136.0, 128.6 (2C), 128.3, 128.2 (2C), 66.3, 21.0."


def _write(path: Path, recs: list[dict]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps(r) + "\n")
    return path


def _lit(smiles: str, key: str, h1: str | None = H1, c13: str | None = C13, **extra: object) -> dict:
    return {"pmcid": "PMC1", "smiles": smiles, "formula": "C9H10O2", "inchikey": key, "h1_conditions": "400 MHz, CDCl3",
            "h1_text": h1, "c13_conditions": "101 MHz, CDCl3", "c13_text": c13, **extra}


@pytest.fixture()
def pipeline() -> Elucidator:
    return Elucidator([ListSource([BENZYL_ACETATE, "COC(=O)Cc1ccccc1", "CCOC(=O)c1ccccc1"])],
                      predictor=LookupPredictor(), assign_top=0)  # type: ignore[arg-type]


def test_literature_records(tmp_path: Path, pipeline: Elucidator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev, "_in_split", lambda rec, split: rec.get("keep", True))
    data = _write(tmp_path / "lit.jsonl.gz", [
        _lit(BENZYL_ACETATE, "QUKGYYKBILRGFE-UHFFFAOYSA-N"),                      # found first
        _lit("CC(=O)OC(C)c1ccccc1", "QKOHMXOFHXUNMM-UHFFFAOYSA-N"),                # not among the candidates
        _lit(BENZYL_ACETATE, "QUKGYYKBILRGFE-UHFFFAOYSA-N", h1="no peaks", c13="none either"),  # parse failure
        _lit(BENZYL_ACETATE, "QUKGYYKBILRGFE-UHFFFAOYSA-N", keep=False),          # seen in training: not scored
    ])
    m = ev.evaluate(data, elucidator=pipeline)
    assert m["elucidate.n"] == 2
    assert m["elucidate.parse_failures"] == 1
    assert m["elucidate.top1"] == 0.5 and m["elucidate.top10"] == 0.5
    assert m["elucidate.top1_topology"] == 0.5
    assert m["elucidate.no_candidate"] == 0.0
    assert m["elucidate.seconds_per_query"] is not None
    assert all(isinstance(v, (int, float, str, type(None))) for v in m.values())


def test_nmrshiftdb2_records_and_stereo_topology(tmp_path: Path, pipeline: Elucidator,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev, "_in_split", lambda rec, split: True)
    spectra = [{"nucleus": "13C", "peaks": [{"shift": s} for s in (170.9, 136.0, 128.6, 128.3, 128.2, 66.3, 21.0)]}]
    data = _write(tmp_path / "n.jsonl.gz", [
        {"nmrshiftdb2_id": 1, "smiles": BENZYL_ACETATE, "formula": "C9H10O2",
         "inchikey": "QUKGYYKBILRGFE-UHFFFAOYSA-N", "spectra": spectra},
        # same constitution, other stereo/isotope layer of the key: a topology hit only
        {"nmrshiftdb2_id": 2, "smiles": BENZYL_ACETATE, "formula": "C9H10O2",
         "inchikey": "QUKGYYKBILRGFE-XXXXXXXXXX-N", "spectra": spectra},
        {"nmrshiftdb2_id": 3, "smiles": "CCO", "formula": "C2H6O", "inchikey": "LFQSCWFLJHTTHZ-UHFFFAOYSA-N",
         "spectra": [{"nucleus": "19F", "peaks": [{"shift": -70.0}]}]},            # no 13C/1H: not selected
    ])
    m = ev.evaluate(data, elucidator=pipeline, limit=5)
    assert m["elucidate.n"] == 2 and m["elucidate.parse_failures"] == 0
    assert m["elucidate.top1"] == 0.5 and m["elucidate.top1_topology"] == 1.0


def test_registered_and_split_checked(tmp_path: Path) -> None:
    from nmrlens.errors import NmrLensError
    from nmrlens.evaluate import TASKS

    assert TASKS["elucidate"] == "nmrlens.evaluate.elucidate:evaluate"
    with pytest.raises(NmrLensError, match="split"):
        ev.evaluate(tmp_path / "x.jsonl", split="everything")


def test_seed_library_keeps_training_molecules_only(tmp_path: Path, pipeline: Elucidator,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev, "_in_split", lambda rec, split: True)
    got: dict = {}

    def default(**kw: object) -> Elucidator:
        got.update(kw)
        return pipeline

    monkeypatch.setattr(Elucidator, "default", staticmethod(default))
    data = _write(tmp_path / "lit.jsonl.gz", [_lit(BENZYL_ACETATE, "QUKGYYKBILRGFE-UHFFFAOYSA-N")])
    seeds = tmp_path / "seeds.smi"
    seeds.write_text("CCOC(=O)c1ccccc1\nCOC(=O)c1ccc(C)cc1\n")  # a train-split and a test-split molecule
    m = ev.evaluate(data, seed_library=str(seeds))
    assert m["elucidate.seed_library_size"] == 1 and m["elucidate.n"] == 1
    assert got["seed_library"].seeds("C9H10O2") == ["CCOC(=O)c1ccccc1"]
