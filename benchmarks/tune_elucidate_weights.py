"""Choose the elucidate fusion weights on the *validation* split (never the test split).

Runs elucidate once per validation record (candidate pools and score parts cached), then re-ranks
the cached candidates for every weight combination of a small grid and reports top-1/top-10 per
combination, best first. Needs NMRLENS_DATA_DIR.

Run: ``.venv/bin/python benchmarks/tune_elucidate_weights.py [--data literature|nmrshiftdb2 file]
[--limit 50] [--library FILE] [--generate-checkpoint STEM] [--out tune.json]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None, help="records (default: $NMRLENS_DATA_DIR/literature/nmrextractor.jsonl.gz)")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--library", default=None)
    ap.add_argument("--generate-checkpoint", default=None)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    import torch

    from nmrlens.data.datasets import resolve_data_file
    from nmrlens.evaluate.elucidate import _formula, record_query, select_records
    from nmrlens.pipeline import Elucidator
    from nmrlens.pipeline.scoring import FusionWeights, fuse

    torch.set_num_threads(2)
    data = Path(args.data) if args.data else resolve_data_file("literature")
    recs = select_records(data, limit=args.limit, seed=0, split="val")
    el = Elucidator.default(library=args.library, assign_top=0, pool=50, generate_checkpoint=args.generate_checkpoint)
    cached = []
    t0 = time.time()
    for rec in recs:
        q = record_query(rec)
        if q is None or not isinstance(rec.get("inchikey"), str):
            continue
        res = el.run(q, formula=_formula(rec), k=100)
        cached.append((rec["inchikey"], [(c.inchikey, dict(c.parts)) for c in res.candidates]))
    grid = {"ssr": [1.0], "library": [0.5, 1.0, 2.0], "sme": [0.0, 0.25, 0.5, 1.0], "sse": [0.0, 0.25, 0.5, 1.0],
            "beam": [0.0, 0.25, 0.5, 1.0]}
    rows = []
    for values in itertools.product(*grid.values()):
        w = FusionWeights(**dict(zip(grid, values)))
        top1 = top10 = 0
        for key, cands in cached:
            ranked = sorted(cands, key=lambda c: -fuse(c[1], w))
            keys = [k for k, _ in ranked]
            top1 += key in keys[:1]
            top10 += key in keys[:10]
        n = max(1, len(cached))
        rows.append({"weights": w.as_dict(), "top1": top1 / n, "top10": top10 / n})
    rows.sort(key=lambda r: (-r["top1"], -r["top10"]))
    out = {"n": len(cached), "split": "val", "data": str(data), "seconds": round(time.time() - t0, 1),
           "components": el.components, "default": next(r for r in rows if r["weights"] == FusionWeights().as_dict()),
           "best": rows[:10]}
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
