"""Speed of the peak-aware similarity (nmrlens.similarity) on one core.

Run: ``.venv/bin/python benchmarks/bench_similarity.py [--pairs N] [--seed S]``

Synthetic, seeded spectra: 13C with 18-22 peaks in 0-220 ppm; 1H with multiplets of 1-3 H
(occasionally 6) until 23-27 protons, centres in 0.5-8.5 ppm, ranges up to 0.3 ppm, labels and J
lists like real ones. Prints pairs per second for the batched form (one query against N
candidates, spectra given as Spectrum1D, so preparation is included) and for the scalar form (N
calls of peak_similarity on Spectrum1D pairs), for 13C and 1H; the batched form again with the
candidates prepared beforehand (prepare_spectrum, as a library would keep them); and the fraction
of 1H pairs with equal proton counts (scored by the sorted fast path, the rest by
linear_sum_assignment). Rates use the CPU time of this (single-threaded) process, best of 3, so
that other work on the machine does not count. Targets: >= 20,000 13C pairs/s and >= 5,000 1H
pairs/s.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

from nmrlens.similarity import peak_similarity, peak_similarity_many, prepare_spectrum  # noqa: E402
from nmrlens.spectra import Multiplet, Peak, Spectrum1D  # noqa: E402

_H_KINDS = [("s", 0), ("d", 1), ("t", 1), ("q", 1), ("dd", 2), ("dt", 2), ("m", 0), ("br s", 0), (None, 0)]


def c13(rng: random.Random) -> Spectrum1D:
    """A random 13C spectrum of 18-22 peaks."""
    return Spectrum1D("13C", [Peak(shift=round(rng.uniform(0.0, 220.0), 2)) for _ in range(rng.randint(18, 22))])


def h1(rng: random.Random) -> Spectrum1D:
    """A random 1H spectrum of 23-27 protons."""
    target = rng.randint(23, 27)
    peaks = []
    total = 0
    while total < target:
        nh = min(rng.choice([1, 1, 2, 2, 3, 3, 6]), target - total)
        mult, n_j = rng.choice(_H_KINDS)
        lo = round(rng.uniform(0.5, 8.5), 2)
        width = 0.0 if mult in ("s", "br s", None) else rng.choice([0.0, 0.02, 0.1, 0.3])
        peaks.append(Multiplet(lo, round(lo + width, 2), mult, tuple(round(rng.uniform(1.0, 16.0), 1) for _ in range(n_j)), nh))
        total += nh
    return Spectrum1D("1H", peaks)


def rate(fn: Callable[[], object], pairs: int, repeat: int = 3) -> float:
    """Best-of-``repeat`` pairs per second of ``fn`` (which scores ``pairs`` pairs)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return pairs / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=2000, help="candidates per run (default 2000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    n = args.pairs
    print(f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}  pairs per run: {n}  seed: {args.seed}")
    for name, make in (("13C", c13), ("1H", h1)):
        query = make(rng)
        cands = [make(rng) for _ in range(n)]
        prepared = [prepare_spectrum(c) for c in cands]
        batched = rate(lambda: peak_similarity_many(query, cands), n)
        scalar = rate(lambda: [peak_similarity(query, c) for c in cands], n)
        ready = rate(lambda: peak_similarity_many(query, prepared), n)
        line = (f"{name:>4}: batched {batched:9,.0f} pairs/s   scalar {scalar:9,.0f} pairs/s   "
                f"batched, prepared candidates {ready:9,.0f} pairs/s")
        if name == "1H":
            same = sum(c.peaks and sum(p.nH or 1 for p in c.peaks) == sum(p.nH or 1 for p in query.peaks) for c in cands)
            line += f"   (equal H counts: {same / n:.0%})"
        print(line)


if __name__ == "__main__":
    main()
