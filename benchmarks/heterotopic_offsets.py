"""Heterotopic pairs in the atom-assigned nmrshiftdb2 records: how often each rule's pair is reported as two
13C signals, and the 13C tag offsets of :data:`nmrlens.chem.heterotopic.C13_TAG_OFFSETS` (train split only).

Usage: NMRLENS_DATA_DIR=../shared/data python benchmarks/heterotopic_offsets.py [--split train] [--min-n 10]
"""

from __future__ import annotations

import argparse
import collections
import json

import numpy as np


def main() -> None:
    """Print, per rule, the pairs seen apart / together and the fitted offsets (JSON)."""
    from rdkit import Chem, RDLogger

    from nmrlens.chem.heterotopic import heterotopic_pairs
    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.data.splits import split_of_record

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split", default="train", choices=("train", "val", "test"))
    ap.add_argument("--min-n", type=int, default=10, help="least pairs for an offset to be kept")
    args = ap.parse_args()
    RDLogger.DisableLog("rdApp.*")
    apart: collections.Counter = collections.Counter()
    together: collections.Counter = collections.Counter()
    halves: dict[tuple[str, int], list[float]] = collections.defaultdict(list)
    for rec in iter_nmrshiftdb2():
        if not (rec.get("assigned") and rec.get("molblock")) or split_of_record(rec) != args.split:
            continue
        spectra = [s for s in rec.get("spectra", []) if s.get("nucleus") == "13C" and s.get("peaks")]
        mol = Chem.MolFromMolBlock(rec["molblock"], removeHs=False)
        if not spectra or mol is None:
            continue
        truth: dict[int, list[float]] = collections.defaultdict(list)
        for peak in max(spectra, key=lambda s: len(s["peaks"]))["peaks"]:
            for a in peak.get("atoms", []):
                truth[a].append(float(peak["shift"]))
        for pr in heterotopic_pairs(mol):
            if pr.a not in truth or pr.b not in truth or mol.GetAtomWithIdx(pr.a).GetSymbol() != "C":
                continue
            ta, tb = float(np.mean(truth[pr.a])), float(np.mean(truth[pr.b]))
            (apart if abs(ta - tb) > 0.1 else together)[pr.rule] += 1
            if pr.tag_a:
                plus, minus = (ta, tb) if pr.tag_a > 0 else (tb, ta)
                halves[(pr.rule, mol.GetAtomWithIdx(pr.a).GetTotalNumHs(includeNeighbors=True))].append((plus - minus) / 2)
    print(json.dumps({"split": args.split, "pairs_apart": dict(apart), "pairs_together": dict(together)}))
    table = {f"{rule}:{nh}": {"n": len(v), "offset": round(float(np.mean(v)), 2)}
             for (rule, nh), v in sorted(halves.items())}
    print(json.dumps({"offsets": table, "kept": {k: v["offset"] for k, v in table.items() if v["n"] >= args.min_n}}))


if __name__ == "__main__":
    main()
