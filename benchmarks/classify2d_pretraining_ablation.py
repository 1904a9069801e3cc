"""Gain of simulated pretraining on the substructuresnmr benchmark: the two-branch k-fold CV of
``nmrlens evaluate classify2d`` (same seeds and folds) from random initialisation instead of the shipped
simulated model.

Run: ``NMRLENS_DATA_DIR=../shared/data python benchmarks/classify2d_pretraining_ablation.py --out scratch.json``
(about 2.5 minutes on 2 cores); compare with the ``substructure.cv<k>.*`` keys of the evaluation.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> int:
    import numpy as np
    import torch

    from nmrlens.data.datasets import data_dir
    from nmrlens.data.images2d import load_substructure_benchmark
    from nmrlens.evaluate.classify2d import CV_KS, _cv_config, cross_validate

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=None, help="substructuresnmr folder (default: under NMRLENS_DATA_DIR)")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    folder = args.data or data_dir() / "substructuresnmr"
    cfg = _cv_config("scratch")
    torch.set_num_threads(1)
    size = (cfg.model.image_h, cfg.model.image_w)
    bench = load_substructure_benchmark(folder, size)
    out: dict[str, object] = {"substructure.init": "scratch", "substructure.repeats": args.repeats}
    t0 = time.perf_counter()
    for k in CV_KS:
        accs = cross_validate(bench.compounds, size, cfg, k, args.repeats, 0)
        out[f"substructure.cv{k}.mean_accuracy"] = float(np.mean(accs))
        out[f"substructure.cv{k}.std"] = float(np.std(accs))
        out[f"substructure.cv{k}.seeds"] = ",".join(str(r) for r in range(args.repeats))
        print(k, out[f"substructure.cv{k}.mean_accuracy"], round(time.perf_counter() - t0, 1), flush=True)
    args.out.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
