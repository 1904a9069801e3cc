"""Learned search re-ranker: agreement features, fitting, storage, application."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nmrlens.errors import NmrLensError, SpectrumFormatError
from nmrlens.models.rerank import FEATURE_NAMES, Reranker, candidate_features, rerank_scores, top_indices
from nmrlens.similarity.matched import AGREEMENT_FEATURES, c13_agreement

OBS = np.array([[170.0, 0], [128.5, 1], [66.0, 2], [21.0, 3]])


def _f(name: str, v: np.ndarray) -> float:
    return float(v[AGREEMENT_FEATURES.index(name)])


def test_agreement_of_identical_and_shifted_lists() -> None:
    same = c13_agreement(OBS, OBS.copy())
    assert same.shape == (len(AGREEMENT_FEATURES),)
    for name in ("match_cost", "log_count_ratio", "extra_predicted", "extra_observed", "mean_dev", "mult_mismatch",
                 "max_dev", "mult_hist_l1", "h_count_diff"):
        assert _f(name, same) == pytest.approx(0.0)
    off = OBS.copy()
    off[1, 0] += 4.0  # one peak 4 ppm away
    v = c13_agreement(OBS, off)
    assert _f("mean_dev", v) == pytest.approx(1.0) and _f("frac_dev_gt3", v) == pytest.approx(0.25)
    assert _f("max_dev", v) == pytest.approx(0.4) and _f("match_cost", v) > 0
    extra = np.vstack([OBS, [[40.0, 2]]])  # one predicted peak without an observed partner
    v = c13_agreement(OBS, extra)
    assert _f("extra_predicted", v) == pytest.approx(0.25) and _f("extra_observed", v) == 0.0
    assert _f("mult_hist_l1", v) == pytest.approx(0.25) and _f("h_count_diff", v) == pytest.approx(0.5)
    wrong = OBS.copy()
    wrong[0, 1] = 1  # S observed, D predicted
    assert _f("mult_mismatch", c13_agreement(OBS, wrong)) == pytest.approx(0.25)
    empty = c13_agreement(OBS, None)
    assert _f("extra_observed", empty) == 1.0 and _f("mean_dev", empty) == 0.0
    with pytest.raises(SpectrumFormatError, match="predicted"):
        c13_agreement(OBS, np.zeros(3))


def _groups(n: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Synthetic queries: 8 candidates; the right one has the smallest mean deviation, the fused scores
    (sme, sse, ssr) are noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = rng.normal(size=(8, len(FEATURE_NAMES)))
        hit = np.zeros(8, bool)
        j = int(rng.integers(8))
        hit[j] = True
        x[:, FEATURE_NAMES.index("mean_dev")] = rng.uniform(1.0, 3.0, 8)
        x[j, FEATURE_NAMES.index("mean_dev")] = 0.2
        out.append((x, hit))
    return out


def test_fit_overfits_a_tiny_batch_and_generalises() -> None:
    train = _groups(12)
    model = Reranker.fit(train)
    for x, h in train:
        assert int(np.argmax(model.logits(x))) == int(np.flatnonzero(h)[0])
    assert model.weights[FEATURE_NAMES.index("mean_dev")] < 0
    test = _groups(50, seed=1)
    assert np.mean([np.argmax(model.logits(x)) == np.flatnonzero(h)[0] for x, h in test]) > 0.9
    with pytest.raises(NmrLensError, match="no training query"):
        Reranker.fit([(x, np.zeros(8, bool)) for x, _ in train])


def test_stored_reranker_reloads_to_identical_outputs() -> None:
    model = Reranker.fit(_groups(10), names=FEATURE_NAMES[:6] + ("mean_dev",), top=30)
    again = Reranker.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again == model
    x = _groups(3, seed=2)[0][0]
    assert np.array_equal(again.logits(x), model.logits(x))
    with pytest.raises(NmrLensError, match="unknown features"):
        Reranker(("sme", "colour"), (0.0, 0.0), (1.0, 1.0), (1.0, 1.0))
    with pytest.raises(NmrLensError, match="malformed"):
        Reranker.from_dict({"names": ["sme"]})


def test_rerank_scores_are_probabilities_over_the_top_candidates() -> None:
    n = 6
    preds = [OBS + np.array([[dev, 0.0]]) for dev in (3.0, 0.0, 2.0, 5.0, 1.0, 0.5)]
    scores = {"sme": np.zeros(n), "sse": np.zeros(n), "ssr": np.linspace(1, 0.5, n),
              "combine": np.array([0.9, 0.8, 0.7, -np.inf, 0.5, 0.4])}
    names = ("mean_dev",)
    model = Reranker(names, (0.0,), (1.0,), (-5.0,), top=4)
    out = rerank_scores(model, OBS, scores, lambda j: preds[j])
    top = top_indices(scores["combine"], 4)
    assert list(top) == [0, 1, 2, 4]
    assert out[top].sum() == pytest.approx(1.0) and np.isneginf(out[3]) and out[5] == 0.0
    assert int(np.argmax(out)) == 1  # the candidate whose predicted peaks sit on the observed ones
    x = candidate_features(OBS, scores["sme"], scores["sse"], scores["ssr"], preds)
    assert x.shape == (n, len(FEATURE_NAMES)) and np.isfinite(x).all()
