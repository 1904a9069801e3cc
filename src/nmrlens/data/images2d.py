"""2D-spectrum image datasets for :mod:`nmrlens.models.classify2d`: the substructuresnmr benchmark,
the BMRB images with ClassyFire classes, and simulated spectra from nmrshiftdb2 records.

All images are preprocessed once with :func:`nmrlens.models.classify2d.preprocess_image` and held
as float32 arrays (H, W). A sample is one compound: experiment -> image (None when missing).

Substructure benchmark (``substructuresnmr/``): single-compound images are grouped by compound
(the first ``components`` entry); files that are byte-identical (SHA-256) to an earlier file are
dropped and counted (the peer's test folder repeats 6 training images: bmse000364/489/643); the
remaining test-folder singles (bmse000502, HSQC only) join the compounds. The ``none`` folder
gives unrelated compounds; multi-component images are the peer's mixtures.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from nmrlens.errors import DataNotFoundError, FileFormatError

__all__ = [
    "ImageSample",
    "SubstructureBenchmark",
    "load_substructure_benchmark",
    "load_bmrb2d_images",
    "SimSpectrum",
    "SimSample",
    "simulate_record",
    "iter_simulated",
    "render_sim",
    "RandomStyle",
]

log = logging.getLogger(__name__)


@dataclass
class ImageSample:
    """One compound (or mixture) with its preprocessed images.

    Attributes:
        key: identifier (compound id, file name, ...).
        group: the unit that must not straddle splits (compound / InChIKey block).
        images: experiment ("HSQC"/"HMBC") -> float32 (H, W) image or None.
        label: class name (single-label tasks) or "+"-joined names (mixtures); "none" for no class.
        meta: anything else (files, components, ...).
    """

    key: str
    group: str
    images: dict[str, np.ndarray | None]
    label: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class SubstructureBenchmark:
    """The substructuresnmr benchmark, preprocessed (see the module docstring)."""

    compounds: list[ImageSample]
    unrelated: list[ImageSample]
    mixtures: list[ImageSample]
    duplicates: list[tuple[str, str]]
    size: tuple[int, int]


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _index(name: str, path: "str | os.PathLike[str] | None") -> Path:
    """The index.csv of dataset ``name``: ``path`` itself, ``path/index.csv`` (the dataset folder), or
    ``path/<name>/index.csv`` (a data root); default under NMRLENS_DATA_DIR."""
    from nmrlens.data.datasets import resolve_data_file

    if path is not None and Path(path).is_dir() and (Path(path) / "index.csv").is_file():
        return Path(path) / "index.csv"
    return resolve_data_file(name, path)


def load_substructure_benchmark(path: "str | os.PathLike[str] | None" = None, size: Sequence[int] = (96, 128),
                                limit: int | None = None) -> SubstructureBenchmark:
    """Read and preprocess the substructuresnmr folder (``path``: the folder, its index.csv, or a data root).

    ``limit`` keeps at most that many compounds per class (for quick runs).
    """
    from nmrlens.data.datasets import load_substructuresnmr_index
    from nmrlens.models.classify2d import preprocess_image

    index = _index("substructuresnmr", path)
    rows = load_substructuresnmr_index(index)
    size = (int(size[0]), int(size[1]))
    seen: dict[str, str] = {}
    duplicates: list[tuple[str, str]] = []
    singles: dict[tuple[str, str], ImageSample] = {}
    unrelated: dict[str, ImageSample] = {}
    mixtures: dict[tuple[str, ...], ImageSample] = {}
    order = sorted(rows, key=lambda r: ({"train": 0, "test": 1, "none": 2, "mixture": 3}.get(r["split"] or "", 4),
                                        r["file"]))
    for r in order:
        if not Path(r["path_abs"]).is_file():
            raise DataNotFoundError(f"substructuresnmr: image {r['path_abs']!r} listed in index.csv does not exist")
        digest = _sha256(r["path_abs"])
        if digest in seen:
            duplicates.append((r["file"], seen[digest]))
            continue
        seen[digest] = r["file"]
        exp = (r["experiment"] or "").upper()
        if exp not in ("HSQC", "HMBC"):
            raise FileFormatError(f"substructuresnmr: {r['file']}: experiment {r['experiment']!r}, expected HSQC or HMBC")
        comps = list(r["components"]) or [r["file"]]
        label = r["class"] or "none"
        img = preprocess_image(r["path_abs"], size)
        if len(comps) == 1 and label != "none" and "+" not in label:
            s = singles.setdefault((comps[0], label), ImageSample(comps[0], comps[0], {"HSQC": None, "HMBC": None},
                                                                  label, {"files": []}))
            if s.images.get(exp) is None:
                s.images[exp] = img
                s.meta["files"].append(r["file"])
        elif len(comps) == 1:
            s = unrelated.setdefault(comps[0], ImageSample(comps[0], comps[0], {"HSQC": None, "HMBC": None}, "none",
                                                           {"files": []}))
            if s.images.get(exp) is None:
                s.images[exp] = img
                s.meta["files"].append(r["file"])
        else:
            key = tuple(comps)
            s = mixtures.setdefault((*key, exp), ImageSample("_".join(c.replace("bmse", "") for c in comps), comps[0],
                                                              {"HSQC": None, "HMBC": None}, label,
                                                              {"files": [], "components": comps, "experiment": exp}))
            s.images[exp] = img
            s.meta["files"].append(r["file"])
    compounds = sorted(singles.values(), key=lambda s: (s.label, s.key))
    if limit is not None:
        kept: dict[str, int] = {}
        out = []
        for s in compounds:
            if kept.get(s.label, 0) < limit:
                out.append(s)
                kept[s.label] = kept.get(s.label, 0) + 1
        compounds = out
    log.info("substructuresnmr: %d compounds, %d unrelated, %d mixtures, %d byte-identical duplicates dropped",
             len(compounds), len(unrelated), len(mixtures), len(duplicates))
    return SubstructureBenchmark(compounds, sorted(unrelated.values(), key=lambda s: s.key),
                                 sorted(mixtures.values(), key=lambda s: s.key), duplicates, size)


def load_bmrb2d_images(path: "str | os.PathLike[str] | None" = None, size: Sequence[int] = (96, 128),
                       level: str = "superclass", limit: int | None = None,
                       keep: Callable[[Mapping[str, Any]], bool] | None = None) -> list[ImageSample]:
    """One :class:`ImageSample` per image of a bmrb2d-format index.csv (only the image's experiment set).

    ``group`` = the InChIKey's first block (images of one compound never straddle splits);
    ``label`` = the ClassyFire ``level`` ("superclass" or "class"), rows without it are skipped.
    ``keep`` filters rows before the images are read; ``limit`` caps the number of images.
    """
    from nmrlens.data.datasets import load_bmrb2d_index
    from nmrlens.models.classify2d import preprocess_image

    if level not in ("superclass", "class", "subclass"):
        raise FileFormatError(f"level: got {level!r}, expected superclass, class or subclass")
    out: list[ImageSample] = []
    for r in load_bmrb2d_index(_index("bmrb2d", path)):
        label = r.get(level)
        exp = (r.get("experiment") or "").upper()
        if not label or not r.get("inchikey") or exp not in ("HSQC", "HMBC"):
            continue
        if keep is not None and not keep(r):
            continue
        if not Path(r["path_abs"]).is_file():
            raise DataNotFoundError(f"bmrb2d: image {r['path_abs']!r} listed in index.csv does not exist")
        img = preprocess_image(r["path_abs"], size)
        images: dict[str, np.ndarray | None] = {"HSQC": None, "HMBC": None}
        images[exp] = img
        out.append(ImageSample(r["file"], r["inchikey"][:14], images, label,
                               {"bmse": r.get("bmse"), "experiment": exp, "inchikey": r["inchikey"]}))
        if limit is not None and len(out) >= limit:
            break
    return out


# ----------------------------------------------------------------------------- simulated spectra


@dataclass
class SimSpectrum:
    """A simulated peak list as arrays (ppm), with a per-peak flag per substructure."""

    f2: np.ndarray
    f1: np.ndarray
    intensity: np.ndarray
    on: dict[str, np.ndarray]


@dataclass
class SimSample:
    """A simulated compound: HSQC and HMBC peak lists, its substructures, split and shift source."""

    key: str
    group: str
    split: str
    smiles: str
    labels: tuple[str, ...]
    hsqc: SimSpectrum
    hmbc: SimSpectrum
    source: str


def _arrays(spectrum: Any, subs: Mapping[str, frozenset[int]]) -> SimSpectrum:
    from nmrlens.spectra.render2d import peak_arrays
    from nmrlens.spectra.simulate2d import peaks_on_atoms

    f2, f1, inten = peak_arrays(spectrum)
    on = {k: np.asarray(peaks_on_atoms(spectrum, v), dtype=bool) for k, v in subs.items()}
    return SimSpectrum(f2, f1, inten, on)


def simulate_record(mol: Any, shifts: Any, key: str, group: str, split: str, smiles: str) -> SimSample | None:
    """Simulate HSQC + HMBC of one molecule with per-atom shifts; None when it has no C-H cross peak."""
    from nmrlens.spectra.simulate2d import simulate_hmbc, simulate_hsqc, substructure_labels

    hsqc = simulate_hsqc(mol, shifts)
    if not hsqc.peaks:
        return None
    hmbc = simulate_hmbc(mol, shifts)
    subs = substructure_labels(mol)
    labels = tuple(k for k, v in subs.items() if v)
    return SimSample(key, group, split, smiles, labels, _arrays(hsqc, subs), _arrays(hmbc, subs), shifts.source)


def iter_simulated(records: Iterable[Mapping[str, Any]], *, predictor: Any | None = None,
                   negatives_per_mille: int = 60, exclude_blocks: Iterable[str] = (), max_heavy_atoms: int = 80,
                   min_coverage: float = 0.75, batch_size: int = 256,
                   splits: Iterable[str] | None = None, positives_only: bool = False) -> Iterator[SimSample]:
    """Simulated spectra of nmrshiftdb2 records: every record with a substructure, plus about
    ``negatives_per_mille`` / 1000 of the others (chosen by a hash of the InChIKey block).

    Shifts: the record's atom assignments; atoms without them (and records without assignments)
    take the shift model's prediction when ``predictor`` (a ShiftPredictor) is given, else the
    record is skipped. Records whose InChIKey block is in ``exclude_blocks`` are skipped (e.g. the
    benchmark's own compounds). ``min_coverage``: least fraction of protonated carbons with shifts.
    ``splits``: keep only records of these splits (:func:`nmrlens.data.splits.split_of_record`);
    ``positives_only``: skip the negatives.
    """
    from rdkit import Chem, RDLogger

    from nmrlens.data.splits import record_block, split_of_record
    from nmrlens.errors import NmrLensError
    from nmrlens.spectra.simulate2d import (SUBSTRUCTURE_SMARTS, atom_shifts_from_prediction, atom_shifts_from_record,
                                            merge_atom_shifts)

    RDLogger.DisableLog("rdApp.*")
    patterns = [Chem.MolFromSmarts(s) for s in SUBSTRUCTURE_SMARTS.values()]
    excluded = {b.upper() for b in exclude_blocks}
    wanted = set(splits) if splits is not None else None
    pending: list[tuple[Any, Any, dict[str, Any], str, str]] = []

    def flush() -> Iterator[SimSample]:
        preds = predictor.predict_mols([p[0] for p in pending], batch_size=batch_size) if predictor and pending else []
        for k, (mol, table, rec, block, split) in enumerate(pending):
            if predictor is not None:
                fallback = atom_shifts_from_prediction(mol, preds[k])
                table = merge_atom_shifts(table, fallback) if table is not None else fallback
            if table is None or table.coverage(mol) < min_coverage:
                continue
            s = simulate_record(mol, table, str(rec.get("nmrshiftdb2_id")), block, split, rec.get("smiles") or "")
            if s is not None:
                yield s
        pending.clear()

    for rec in records:
        try:
            block, _ = record_block(rec)
        except NmrLensError:
            continue
        if block.upper() in excluded:
            continue
        split = split_of_record(rec)
        if wanted is not None and split not in wanted:
            continue
        smi_mol = Chem.MolFromSmiles(rec.get("smiles") or "")
        if smi_mol is None or smi_mol.GetNumAtoms() > max_heavy_atoms or smi_mol.GetNumAtoms() < 3:
            continue
        positive = any(smi_mol.HasSubstructMatch(p) for p in patterns)
        if not positive and positives_only:
            continue
        if not positive:
            u = int.from_bytes(hashlib.sha256(f"neg:{block}".encode()).digest()[:4], "big") % 1000
            if u >= negatives_per_mille:
                continue
        table = None
        mol = smi_mol
        if rec.get("assigned") and rec.get("molblock"):
            try:
                mol, table = atom_shifts_from_record(rec)
            except NmrLensError:
                mol, table = smi_mol, None
        if table is None and predictor is None:
            continue
        pending.append((mol, table, dict(rec), block, split))
        if len(pending) >= batch_size:
            yield from flush()
    yield from flush()


@dataclass(frozen=True)
class RandomStyle:
    """Ranges of the random rendering of simulated spectra (augmentation; ppm unless stated)."""

    sigma_f2: tuple[float, float] = (0.012, 0.05)
    sigma_f1: tuple[float, float] = (0.35, 1.4)
    window_shift_f2: float = 0.25
    window_shift_f1: float = 6.0
    window_scale: float = 0.05
    speckle: tuple[float, float] = (0.0, 0.0008)
    t1_noise: tuple[float, float] = (0.0, 0.15)
    shift_noise_f2: float = 0.03
    shift_noise_f1: float = 0.6
    drop_peak: float = 0.05


def render_sim(spec: SimSpectrum, size: Sequence[int], rng: np.random.Generator, style: RandomStyle | None = None,
               extra: Sequence[SimSpectrum] = (), image_size: Sequence[int] = (410, 600)) -> np.ndarray:
    """Render a simulated spectrum (plus ``extra`` spectra overlaid, e.g. mixture components) with a
    random style and approximate window (as the real crops), then preprocess to ``size``."""
    from nmrlens.models.classify2d import preprocess_image
    from nmrlens.spectra.render2d import RenderStyle, Window, render_peaks

    st = style or RandomStyle()
    specs = [spec, *extra]
    f2 = np.concatenate([s.f2 for s in specs])
    f1 = np.concatenate([s.f1 for s in specs])
    inten = np.concatenate([s.intensity for s in specs]) * rng.uniform(0.5, 1.5, size=len(f2))
    keep = rng.random(len(f2)) >= st.drop_peak
    f2 = f2[keep] + rng.normal(0, st.shift_noise_f2, keep.sum())
    f1 = f1[keep] + rng.normal(0, st.shift_noise_f1, keep.sum())
    inten = inten[keep]
    sc = 1.0 + rng.uniform(-st.window_scale, st.window_scale)
    d2, d1 = rng.uniform(-st.window_shift_f2, st.window_shift_f2), rng.uniform(-st.window_shift_f1, st.window_shift_f1)
    window = Window(10.0 * sc + d2, 0.0 + d2, 0.0 + d1, 200.0 * sc + d1)
    rstyle = RenderStyle(sigma_f2=float(rng.uniform(*st.sigma_f2)), sigma_f1=float(rng.uniform(*st.sigma_f1)),
                         contours=int(rng.integers(0, 5)), speckle=float(rng.uniform(*st.speckle)),
                         t1_noise=float(rng.uniform(*st.t1_noise)), darkness=float(rng.uniform(0.7, 1.0)))
    img = render_peaks(f2, f1, inten, size=tuple(image_size), window=window, style=rstyle,
                       seed=int(rng.integers(0, 2**31 - 1)))
    return preprocess_image(img, tuple(size))
