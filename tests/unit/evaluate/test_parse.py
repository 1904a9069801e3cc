"""The literature parse evaluation: metrics on a small synthetic file and on the real data set."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from nmrlens.errors import DataNotFoundError
from nmrlens.evaluate.parse import evaluate, failures, record_text

RECORDS = [
    {  # parses and agrees
        "pmcid": "PMC1", "h1_conditions": "400 MHz, CDCl3", "h1_text": "7.36–7.28 (m, 5H), 5.11 (s, 2H)",
        "h1_peaks": [{"shift": 7.32, "range": [7.28, 7.36], "mult": "m", "nH": 5}, {"shift": 5.11, "mult": "s", "nH": 2}],
        "c13_conditions": "101 MHz, CDCl3", "c13_text": "170.9, 128.6, 21.1", "c13_shifts": [170.9, 128.6, 21.1],
    },
    {  # parses, 1H disagrees with the source (source missed a peak), no 13C text
        "pmcid": "PMC2", "h1_conditions": None, "h1_text": "8.20 (s, 1H), 7.10 (d, J = 8.0 Hz, 2H)",
        "h1_peaks": [{"shift": 8.2}], "c13_conditions": None, "c13_text": None, "c13_shifts": [],
    },
    {  # 1H fails (J above the 0..40 Hz the model allows), 13C fails (shift above 300 ppm)
        "pmcid": "PMC3", "h1_conditions": "DMSO-d6", "h1_text": "6.93 (t, J = 51.6 Hz, 1H)", "h1_peaks": [],
        "c13_conditions": "DMSO-d6", "c13_text": "164.2, 1501, 56.1", "c13_shifts": [164.2, 56.1],
    },
]


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    path = tmp_path / "lit.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for r in RECORDS:
            fh.write(json.dumps(r) + "\n")
    return path


def test_record_text_rebuilds_the_header() -> None:
    assert record_text(RECORDS[0], "1H") == "1H NMR (400 MHz, CDCl3) δ 7.36–7.28 (m, 5H), 5.11 (s, 2H)"
    assert record_text(RECORDS[1], "1H") == "1H NMR δ 8.20 (s, 1H), 7.10 (d, J = 8.0 Hz, 2H)"
    assert record_text(RECORDS[1], "13C") is None


def test_metrics_on_a_small_file(small: Path) -> None:
    m = evaluate(small)
    assert m["h1_n"] == 3 and m["c13_n"] == 2
    assert m["h1_parse_fraction"] == pytest.approx(2 / 3) and m["c13_parse_fraction"] == pytest.approx(1 / 2)
    assert m["h1_peak_agreement"] == pytest.approx(1 / 3) and m["c13_peak_agreement"] == pytest.approx(1 / 2)
    assert all(isinstance(v, (int, float)) for v in m.values())  # flat
    assert evaluate(small, limit=1, seed=0)["h1_n"] == 1


def test_failures_on_a_small_file(small: Path) -> None:
    f = failures(small)
    assert [(x["pmcid"], x["nucleus"]) for x in f] == [("PMC3", "1H"), ("PMC3", "13C")]
    assert "J[0]" in f[0]["error"] and "0..40 Hz" in f[0]["error"] and "13C.peaks[1].shift" in f[1]["error"]
    assert len(failures(small, limit=1)) == 1


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="does not exist"):
        evaluate(tmp_path / "nope.jsonl.gz")


@pytest.mark.data
def test_literature_set_parses(data_dir: Path) -> None:
    path = data_dir / "literature" / "nmrextractor.jsonl.gz"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    m = evaluate(path)
    assert m["h1_n"] >= 1000 and m["c13_n"] >= 1000
    assert m["h1_parse_fraction"] >= 0.97
    assert m["c13_parse_fraction"] >= 0.97
    # the source's own lists are a rough regex parse; most disagreements are its errors
    assert m["h1_peak_agreement"] >= 0.93 and m["c13_peak_agreement"] >= 0.93
    f = failures(path)
    assert len(f) == (m["h1_n"] - m["h1_parsed"]) + (m["c13_n"] - m["c13_parsed"])
    assert all(x["error"] for x in f)
