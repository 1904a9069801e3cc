"""Embedding-search latency of the library indexes (FAISS) on N random unit vectors.

Usage: ``python benchmarks/bench_retrieval_index.py [--n 1000000] [--dim 128] [--kind auto] [--queries 200]``.
Prints build seconds and per-query latency percentiles (ms, one query at a time, top-200 recall)
and the recall@10 of the approximate index against exact search on 50 queries.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--kind", default="auto")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import faiss

    from nmrlens.library.index import VectorIndex

    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    # clustered vectors (like real embeddings), L2-normalised
    centres = rng.normal(size=(2000, args.dim)).astype(np.float32)
    x = centres[rng.integers(0, 2000, args.n)] + 0.5 * rng.normal(size=(args.n, args.dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    t0 = time.perf_counter()
    idx = VectorIndex.build(x, np.arange(args.n), args.kind, threads=args.threads)
    build_s = time.perf_counter() - t0
    q = x[rng.integers(0, args.n, args.queries)] + 0.1 * rng.normal(size=(args.queries, args.dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    times = []
    for row in q:
        t = time.perf_counter()
        idx.search(row[None], 200, threads=args.threads)
        times.append(1000 * (time.perf_counter() - t))
    exact = faiss.IndexFlatIP(args.dim)
    exact.add(x)
    _, truth = exact.search(q[:50], 10)
    _, got = idx.search(q[:50], 10)
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got)]))
    print(json.dumps({"n": args.n, "dim": args.dim, "kind": idx.kind, "build_s": round(build_s, 1),
                      "query_ms_p50": round(float(np.percentile(times, 50)), 2),
                      "query_ms_p95": round(float(np.percentile(times, 95)), 2),
                      "recall_at_10_vs_exact": recall, "threads": args.threads}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
