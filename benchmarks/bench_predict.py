"""Speed of ``nmrlens predict``: 13C + 1H peak lists per second in batch mode, single-molecule latency,
and RDKit ETKDG + MMFF conformer generation (what 3D shift predictors need first) on the same molecules.

Run: ``.venv/bin/python benchmarks/bench_predict.py [--n 2000] [--checkpoint PATH]`` (needs NMRLENS_DATA_DIR;
molecules: the first N held-out nmrshiftdb2 records with a supported structure).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--n-etkdg", type=int, default=200)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch
    from rdkit import Chem
    from rdkit.Chem import AllChem

    from nmrlens import api
    from nmrlens.chem.validate import check_supported
    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.data.splits import is_held_out
    from nmrlens.errors import NmrLensError

    torch.set_num_threads(args.threads)
    smiles = []
    for rec in iter_nmrshiftdb2():
        if not is_held_out(rec):
            continue
        m = Chem.MolFromSmiles(rec.get("smiles") or "")
        if m is None:
            continue
        try:
            check_supported(m)
        except NmrLensError:
            continue
        smiles.append(Chem.MolToSmiles(m))
        if len(smiles) >= args.n:
            break
    api.predict("CCO", checkpoint=args.checkpoint)  # load the model once
    t = time.perf_counter()
    preds = api.predict_many(smiles, checkpoint=args.checkpoint)
    batch_s = time.perf_counter() - t
    assert len(preds) == len(smiles)
    lat = []
    for s in smiles[:200]:
        t = time.perf_counter()
        api.predict(s, checkpoint=args.checkpoint)
        lat.append(time.perf_counter() - t)
    t = time.perf_counter()
    ok = 0
    for s in smiles[: args.n_etkdg]:
        mh = Chem.AddHs(Chem.MolFromSmiles(s))
        if AllChem.EmbedMolecule(mh, AllChem.ETKDGv3()) == 0:
            AllChem.MMFFOptimizeMolecule(mh)
            ok += 1
    etkdg_s = (time.perf_counter() - t) / args.n_etkdg
    out = {
        "molecules": len(smiles),
        "batch_molecules_per_s": round(len(smiles) / batch_s, 1),
        "single_ms_p50": round(1000 * statistics.median(lat), 2),
        "single_ms_p95": round(1000 * sorted(lat)[int(0.95 * len(lat))], 2),
        "etkdg_mmff_ms_per_molecule": round(1000 * etkdg_s, 2),
        "etkdg_embedded": f"{ok}/{args.n_etkdg}",
        "speedup_vs_etkdg_mmff": round(etkdg_s / (batch_s / len(smiles)), 1),
        "threads": args.threads,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
