"""classify2d benchmark helpers: folds, macro-F1, data detection; real-data runs (skipped without data)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrlens.errors import FileFormatError, NmrLensError
from nmrlens.evaluate.classify2d import _kind, macro_f1, stratified_folds


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("abc"), min_size=10, max_size=60), st.integers(2, 10), st.integers(0, 1000))
def test_stratified_folds_partition_and_balance(labels, k, seed) -> None:
    if k > len(labels):
        with pytest.raises(NmrLensError):
            stratified_folds(labels, k, seed)
        return
    folds = stratified_folds(labels, k, seed)
    allidx = np.concatenate(folds)
    assert sorted(allidx.tolist()) == list(range(len(labels)))
    for c in set(labels):
        counts = [sum(labels[i] == c for i in f) for f in folds]
        assert max(counts) - min(counts) <= 1
    assert [f.tolist() for f in stratified_folds(labels, k, seed)] == [f.tolist() for f in folds]


def test_macro_f1() -> None:
    assert macro_f1(["a", "a", "b"], ["a", "a", "b"]) == 1.0
    # a: tp1 fp0 fn1 -> 2/3; b: tp1 fp1 fn0 -> 2/3
    assert macro_f1(["a", "a", "b"], ["a", "b", "b"]) == pytest.approx(2 / 3)
    assert macro_f1(["a"], ["b"]) == 0.0


def test_kind_detection(tmp_path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "index.csv").write_text("file,experiment,bmse,inchikey,smiles,superclass\n")
    (tmp_path / "s.csv").write_text("file,experiment,split,class,bmse,components\n")
    (tmp_path / "x.csv").write_text("a,b\n")
    assert _kind(tmp_path / "b")[0] == "bmrb2d"
    assert _kind(tmp_path / "s.csv")[0] == "substructuresnmr"
    assert _kind(tmp_path / "m.jsonl.gz")[0] == "nmrshiftdb2"
    with pytest.raises(FileFormatError, match="columns"):
        _kind(tmp_path / "x.csv")
    with pytest.raises(FileFormatError):
        _kind(tmp_path)


def test_benchmark_dedup_counts(data_dir) -> None:
    from nmrlens.data.images2d import load_substructure_benchmark

    b = load_substructure_benchmark(data_dir / "substructuresnmr", (24, 32))
    assert len(b.duplicates) == 6
    assert {a.split("/")[-1][:10] for a, _ in b.duplicates} == {"bmse000643", "bmse000364", "bmse000489"}
    labels = [s.label for s in b.compounds]
    assert len(b.compounds) == 83 and labels.count("fattyacids") == 30 and labels.count("indol") == 28
    assert {u.key for u in b.unrelated} == {"bmse000060", "bmse000061", "bmse000072", "bmse000491", "bmse000544"}
    only_hsqc = [s.key for s in b.compounds if s.images["HMBC"] is None]
    assert only_hsqc == ["bmse000502"]


@pytest.mark.slow
def test_substructure_cv_reduced(data_dir) -> None:
    from nmrlens.evaluate.classify2d import evaluate

    m = evaluate(data_dir / "substructuresnmr", limit=1, checkpoint="scratch")
    assert m["substructure.n_duplicates_dropped"] == 6
    for k in (2, 3, 5, 10):
        assert m[f"substructure.cv{k}.mean_accuracy"] > 0.8
    assert 0.0 <= m["mixture.2.target_probability_mean"] <= 1.0
