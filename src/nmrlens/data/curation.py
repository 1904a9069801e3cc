"""Curation of nmrshiftdb2 records into datapoints (the NMRPeak rules, Methods 5.1 of the paper).

A record (a raw dict of ``nmrshiftdb2/molecules.jsonl.gz``) goes through named rules, each of
which can be switched off (:class:`CurationConfig`; an unknown rule name is a
:class:`~nmrlens.errors.ConfigError`). Rules run in the order below; a record or spectrum is
removed by -- and counted under -- the *first* enabled rule it violates.

Molecule rules (remove the whole record):

=====================  =======  ====================================================================
rule                   default  keeps a record when
=====================  =======  ====================================================================
has_c13_or_h1          on       it has at least one experimental 13C or 1H spectrum (runs first: the
                                records with only 31P/19F/... spectra are not molecules with a
                                usable spectrum)
valid_smiles           on       RDKit parses and sanitises the SMILES (an unparsable SMILES can never
                                be kept; switched off, only sanitisation failures pass)
elements               on       every atom is one of H C O N S F Cl Br Si P I B Se
max_atoms              on       it has at most ``max_atoms`` (100) atoms, **hydrogens included**
                                (heavy atoms + all H: the paper's molecules carry 3D coordinates,
                                i.e. explicit H)
max_chiral_centers     on       it has at most ``max_chiral_centers`` (1) tetrahedral stereocentres,
                                assigned or not (RDKit ``FindMolChiralCenters(includeUnassigned=
                                True)``). This removes most natural products; switch it off to keep
                                them.
single_fragment        off      its SMILES is one fragment (no salts/counter-ions); not a paper rule
has_clean_spectrum     on       at least one 13C or 1H spectrum survives the spectrum rules (off:
                                the molecule is kept without spectra)
=====================  =======  ====================================================================

Spectrum rules (remove one spectrum; the record stays while another spectrum survives):

=====================  =======  ====================================================================
c13_valid              on       the 13C spectrum has peaks and every shift is a finite number
c13_shift_range        on       every shift is within ``c13_range`` (-50..300 ppm)
c13_peak_count         on       it has no more peaks than the molecule has carbons
c13_monotonic          on       the shifts, in the order reported, are monotonic (the shared file is
                                sorted, so this removes nothing there)
h1_valid               on       the 1H spectrum has peaks and every shift is a finite number
h1_shift_range         on       every shift is within ``h1_range`` (-3..17 ppm)
h1_nh_valid            on       every nH given is a whole number in 1..500
h1_nh_sum              on       when *every* peak has an nH: their sum equals the molecule's H count.
                                When some peaks have no nH (about half of the nmrshiftdb2 1H spectra)
                                the rule cannot be checked: the spectrum is kept and counted as
                                ``h1_nh_incomplete`` (some peaks without nH) or ``h1_nh_missing`` (no
                                peak with nH) in the report
h1_monotonic           on       the shifts, in the order reported, are monotonic
=====================  =======  ====================================================================

A spectrum that passes the enabled rules but cannot be represented in the nmrlens model (e.g. a
13C shift of 350 ppm with ``c13_shift_range`` off) is removed and counted as ``unrepresentable``.
The paper's 1H rules on multiplicity categories and J values cannot be applied: nmrshiftdb2 has
no 1H couplings and multiplicity labels only for a few percent of the peaks.

Selection and merging: records are merged by RDKit canonical (isomeric) SMILES (rule
``merge_smiles``, default on). Of the surviving spectra of a molecule one 13C and one 1H spectrum
are kept, the best by this order: 13C -- every peak atom-assigned, most peaks, most peaks with an
S/D/T/Q letter, first in the file; 1H -- nH known on every peak, every peak atom-assigned, most
peaks, first in the file. The others are counted in ``spectra_not_selected``. The datapoint keeps
the molblock of the record whose assigned spectrum was chosen; atom indices of a spectrum chosen
from another record with a different molblock are dropped (counted in ``atoms_dropped_on_merge``).

Splits: :func:`nmrlens.data.splits.split_of_record` (the shipped table, then the InChIKey-block
hash; ``source_inchikey`` when ``inchikey`` is null; the canonical SMILES when both are null --
counted in ``split_basis``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from nmrlens.chem.mol import SUPPORTED_ELEMENTS
from nmrlens.data.splits import SPLITS, record_block, split_of_block, split_of_record
from nmrlens.errors import ConfigError, FileFormatError, NmrLensError, SpectrumFormatError
from nmrlens.spectra.model import MAX_NH, Multiplet, Spectrum1D

__all__ = [
    "RULES",
    "MOLECULE_RULES",
    "SPECTRUM_RULES",
    "CurationConfig",
    "CurationReport",
    "Datapoint",
    "Curator",
    "curate",
    "parse_rule_overrides",
    "datapoint_to_dict",
    "datapoint_from_dict",
    "dumps_datapoints",
    "write_datapoints",
    "iter_datapoints",
    "read_datapoints",
]

#: Molecule-level rules, in the order they run, with their defaults.
MOLECULE_RULES: dict[str, bool] = {
    "has_c13_or_h1": True,
    "valid_smiles": True,
    "elements": True,
    "max_atoms": True,
    "max_chiral_centers": True,
    "single_fragment": False,
}
#: Spectrum-level rules, in the order they run, with their defaults.
SPECTRUM_RULES: dict[str, bool] = {
    "c13_valid": True,
    "c13_shift_range": True,
    "c13_peak_count": True,
    "c13_monotonic": True,
    "h1_valid": True,
    "h1_shift_range": True,
    "h1_nh_valid": True,
    "h1_nh_sum": True,
    "h1_monotonic": True,
}
#: Rules applied after the spectrum rules.
POST_RULES: dict[str, bool] = {"has_clean_spectrum": True, "merge_smiles": True}
#: Every rule name with its default.
RULES: dict[str, bool] = {**MOLECULE_RULES, **SPECTRUM_RULES, **POST_RULES}
_NUCLEI = ("13C", "1H")


def _rule_value(text: str, where: str) -> bool:
    value = text.strip().lower()
    if value in ("on", "true", "1", "yes"):
        return True
    if value in ("off", "false", "0", "no"):
        return False
    raise ConfigError(f"{where}: got {text!r}, expected on or off")


def parse_rule_overrides(items: Iterable[str]) -> dict[str, bool]:
    """Parse ``["max_chiral_centers=off", "single_fragment=on"]`` into ``{name: bool}``.

    Raises:
        ConfigError: for an item without ``=``, an unknown rule name or a value other than on/off.
    """
    out: dict[str, bool] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--rule: got {item!r}, expected NAME=on|off (rules: {', '.join(RULES)})")
        name, value = item.split("=", 1)
        name = name.strip()
        if name not in RULES:
            raise ConfigError(f"--rule: unknown rule {name!r}; known rules: {', '.join(RULES)}")
        out[name] = _rule_value(value, f"--rule {name}")
    return out


@dataclass(frozen=True)
class CurationConfig:
    """Which rules run and their parameters.

    Attributes:
        rules: rule name -> on/off; names not given take their default (:data:`RULES`).
        max_atoms: atom limit of ``max_atoms`` (hydrogens included).
        max_chiral_centers: limit of ``max_chiral_centers``.
        elements: elements allowed by ``elements``.
        c13_range, h1_range: shift windows (ppm) of the shift-range rules.
    """

    rules: Mapping[str, bool] = field(default_factory=dict)
    max_atoms: int = 100
    max_chiral_centers: int = 1
    elements: frozenset[str] = SUPPORTED_ELEMENTS
    c13_range: tuple[float, float] = (-50.0, 300.0)
    h1_range: tuple[float, float] = (-3.0, 17.0)

    def __post_init__(self) -> None:
        if not isinstance(self.rules, Mapping):
            raise ConfigError(f"rules: got {type(self.rules).__name__}, expected a mapping of rule names to on/off")
        unknown = sorted(str(k) for k in self.rules if k not in RULES)
        if unknown:
            raise ConfigError(f"rules: unknown rule {unknown[0]!r}; known rules: {', '.join(RULES)}")
        bad = [k for k, v in self.rules.items() if not isinstance(v, bool)]
        if bad:
            raise ConfigError(f"rules.{bad[0]}: got {self.rules[bad[0]]!r}, expected true or false")
        object.__setattr__(self, "rules", {**RULES, **dict(self.rules)})
        for name in ("max_atoms", "max_chiral_centers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name}: got {value!r}, expected a whole number >= 0")
        for name in ("c13_range", "h1_range"):
            lo_hi = getattr(self, name)
            if len(lo_hi) != 2 or not all(isinstance(x, (int, float)) for x in lo_hi) or lo_hi[0] >= lo_hi[1]:
                raise ConfigError(f"{name}: got {lo_hi!r}, expected (low, high) in ppm with low < high")
        object.__setattr__(self, "elements", frozenset(self.elements))

    def on(self, rule: str) -> bool:
        """True when ``rule`` is enabled."""
        return bool(self.rules[rule])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (stored in the report)."""
        return {
            "rules": dict(self.rules), "max_atoms": self.max_atoms, "max_atoms_counts": "heavy atoms + hydrogens",
            "max_chiral_centers": self.max_chiral_centers, "elements": sorted(self.elements),
            "c13_range_ppm": list(self.c13_range), "h1_range_ppm": list(self.h1_range),
        }


def _zero_counts(names: Iterable[str]) -> dict[str, int]:
    return {n: 0 for n in names}


@dataclass
class CurationReport:
    """Counts of one curation run (all plain ints/dicts; :meth:`to_dict` is JSON-ready)."""

    config: dict[str, Any] = field(default_factory=dict)
    records_in: int = 0
    records_removed: dict[str, int] = field(default_factory=lambda: _zero_counts([*MOLECULE_RULES, "has_clean_spectrum"]))
    spectra_in: dict[str, int] = field(default_factory=lambda: _zero_counts(_NUCLEI))
    spectra_removed: dict[str, int] = field(default_factory=lambda: _zero_counts([*SPECTRUM_RULES, "unrepresentable"]))
    spectra_passed: dict[str, int] = field(default_factory=lambda: _zero_counts(_NUCLEI))
    spectra_not_selected: dict[str, int] = field(default_factory=lambda: _zero_counts(_NUCLEI))
    h1_nh: dict[str, int] = field(default_factory=lambda: _zero_counts(["complete_checked", "incomplete", "missing"]))
    records_merged: int = 0
    atoms_dropped_on_merge: int = 0
    split_basis: dict[str, int] = field(default_factory=lambda: _zero_counts(["inchikey", "source_inchikey", "smiles", "none"]))
    split_table_mismatch: int = 0
    datapoints_out: int = 0
    kept_per_nucleus: dict[str, int] = field(default_factory=lambda: _zero_counts(["13C", "1H", "both", "none"]))
    assigned: dict[str, int] = field(default_factory=lambda: _zero_counts(_NUCLEI))
    per_split: dict[str, dict[str, int]] = field(
        default_factory=lambda: {s: _zero_counts(["datapoints", "13C", "1H"]) for s in SPLITS}
    )

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "config": self.config,
            "records_in": self.records_in,
            "records_removed": dict(self.records_removed),
            "records_kept": self.records_in - sum(self.records_removed.values()),
            "records_merged": self.records_merged,
            "spectra_in": dict(self.spectra_in),
            "spectra_removed": dict(self.spectra_removed),
            "spectra_passed": dict(self.spectra_passed),
            "spectra_not_selected": dict(self.spectra_not_selected),
            "h1_nh": dict(self.h1_nh),
            "atoms_dropped_on_merge": self.atoms_dropped_on_merge,
            "split_basis": dict(self.split_basis),
            "split_table_mismatch": self.split_table_mismatch,
            "datapoints_out": self.datapoints_out,
            "kept_per_nucleus": dict(self.kept_per_nucleus),
            "assigned": dict(self.assigned),
            "per_split": {k: dict(v) for k, v in self.per_split.items()},
        }


@dataclass(frozen=True)
class Datapoint:
    """One curated molecule with at most one 13C and one 1H spectrum (no tensors).

    Attributes:
        smiles: RDKit canonical isomeric SMILES (the merge key).
        inchikey: the record's InChIKey (RDKit; nmrshiftdb2's when RDKit gave none), or None.
        formula: Hill formula computed from the SMILES (element counts, H included, no charge).
        split: "train", "val" or "test".
        c13, h1: the selected spectra, or None. Peak ``atoms`` index ``molblock`` atoms.
        nmrshiftdb2_id: id of the record the spectra were taken from (the first record when
            neither spectrum was), or None.
        molblock: the V2000 molblock the atom indices refer to, or None.
        source_ids: ids of every record merged into this datapoint.
    """

    smiles: str
    inchikey: str | None
    formula: str
    split: str
    c13: Spectrum1D | None = None
    h1: Spectrum1D | None = None
    nmrshiftdb2_id: int | None = None
    molblock: str | None = None
    source_ids: tuple[int, ...] = ()

    @property
    def assigned(self) -> bool:
        """True when a kept spectrum carries atom indices."""
        return any(p.atoms for sp in (self.c13, self.h1) if sp is not None for p in sp.peaks)


# ----------------------------------------------------------------------------------------------
# rule checks on raw spectra

def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _monotonic(shifts: Sequence[float]) -> bool:
    pairs = list(zip(shifts, shifts[1:]))
    return all(a >= b for a, b in pairs) or all(a <= b for a, b in pairs)


def _nh_ok(nh: Any) -> bool:
    return isinstance(nh, int) and not isinstance(nh, bool) and 1 <= nh <= MAX_NH


@dataclass
class _MolFacts:
    smiles: str
    n_carbons: int
    n_hydrogens: int


@dataclass
class _Candidate:
    spectrum: Spectrum1D
    order: int
    record_index: int
    nh_complete: bool = False

    def score(self) -> tuple:
        peaks = self.spectrum.peaks
        all_atoms = bool(peaks) and all(p.atoms for p in peaks)
        if self.spectrum.nucleus == "1H":
            return (self.nh_complete, all_atoms, len(peaks), -self.order)
        with_mult = sum(1 for p in peaks if getattr(p, "mult", None) is not None)
        return (all_atoms, len(peaks), with_mult, -self.order)


@dataclass
class _Group:
    first_index: int
    records: list[dict[str, Any]] = field(default_factory=list)
    c13: list[_Candidate] = field(default_factory=list)
    h1: list[_Candidate] = field(default_factory=list)
    smiles: str = ""
    formula: str = ""
    inchikey: str | None = None
    split: str = "train"


class Curator:
    """Applies the rules record by record (:meth:`add`) and merges at the end (:meth:`finish`).

    Args:
        config: the rules and parameters (defaults: the paper's rules).
        split_table: nmrshiftdb2_id -> split; None = the table shipped with nmrlens.
    """

    def __init__(self, config: CurationConfig | None = None, split_table: Mapping[int, str] | None = None) -> None:
        self.config = config or CurationConfig()
        self.split_table = split_table
        self.report = CurationReport(config=self.config.to_dict())
        self.split_rows: list[tuple[int, str, str]] = []
        self._groups: dict[Any, _Group] = {}
        self._n = 0
        self._order = 0

    # -- molecule ------------------------------------------------------------------------------
    def _molecule(self, record: Mapping[str, Any]) -> tuple[str | None, Any]:
        """(failed rule or None, mol)."""
        from rdkit import Chem, RDLogger

        from nmrlens.chem.mol import chiral_center_count

        RDLogger.DisableLog("rdApp.*")
        cfg = self.config
        smiles = record.get("smiles")
        if not isinstance(smiles, str) or not smiles.strip() or len(smiles) > 5000:
            return "valid_smiles", None
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            if cfg.on("valid_smiles"):
                return "valid_smiles", None
            mol = Chem.MolFromSmiles(smiles, sanitize=False)
            if mol is None:
                return "valid_smiles", None
            mol.UpdatePropertyCache(strict=False)
        if cfg.on("elements") and any(a.GetSymbol() not in cfg.elements for a in mol.GetAtoms()):
            return "elements", mol
        if cfg.on("max_atoms"):
            n_atoms = mol.GetNumAtoms() + sum(a.GetTotalNumHs() for a in mol.GetAtoms())
            if n_atoms > cfg.max_atoms:
                return "max_atoms", mol
        if cfg.on("max_chiral_centers") and chiral_center_count(mol) > cfg.max_chiral_centers:
            return "max_chiral_centers", mol
        if cfg.on("single_fragment") and len(Chem.GetMolFrags(mol)) > 1:
            return "single_fragment", mol
        return None, mol

    # -- spectra -------------------------------------------------------------------------------
    def _check_spectrum(self, sp: Mapping[str, Any], nucleus: str, facts: _MolFacts) -> str | None:
        cfg = self.config
        peaks = sp.get("peaks")
        prefix = "c13" if nucleus == "13C" else "h1"
        numeric = isinstance(peaks, list) and all(isinstance(p, Mapping) and _finite(p.get("shift")) for p in peaks)
        if cfg.on(f"{prefix}_valid") and not (numeric and peaks):
            return f"{prefix}_valid"
        if not numeric:
            return "unrepresentable"
        shifts = [float(p["shift"]) for p in peaks]
        lo, hi = cfg.c13_range if nucleus == "13C" else cfg.h1_range
        if cfg.on(f"{prefix}_shift_range") and not all(lo <= s <= hi for s in shifts):
            return f"{prefix}_shift_range"
        if nucleus == "13C":
            if cfg.on("c13_peak_count") and len(peaks) > facts.n_carbons:
                return "c13_peak_count"
        else:
            nhs = [p.get("nH") for p in peaks]
            if cfg.on("h1_nh_valid") and not all(nh is None or _nh_ok(nh) for nh in nhs):
                return "h1_nh_valid"
            if cfg.on("h1_nh_sum") and nhs and all(nh is not None for nh in nhs):
                if sum(int(nh) for nh in nhs if _finite(nh)) != facts.n_hydrogens:
                    return "h1_nh_sum"
        if cfg.on(f"{prefix}_monotonic") and not _monotonic(shifts):
            return f"{prefix}_monotonic"
        return None

    def add(self, record: Mapping[str, Any]) -> None:
        """Apply the rules to one raw nmrshiftdb2 record and keep what survives."""
        from nmrlens.io.nmrshiftdb2 import spectrum_from_record

        rep, cfg = self.report, self.config
        index = self._n
        self._n += 1
        rep.records_in += 1
        if not isinstance(record, Mapping):
            raise FileFormatError(f"record {index + 1}: got {type(record).__name__}, expected a JSON object")
        rid = record.get("nmrshiftdb2_id")
        rid = rid if isinstance(rid, int) and not isinstance(rid, bool) else None
        try:
            block, basis = record_block(record)
        except NmrLensError:
            block, basis = None, "none"
        rep.split_basis[basis] += 1
        if block is not None and rid is not None:
            self.split_rows.append((rid, block, split_of_block(block)))
        raw_spectra = record.get("spectra") if isinstance(record.get("spectra"), list) else []
        wanted: list[tuple[int, str, Mapping[str, Any]]] = []
        for i, sp in enumerate(raw_spectra):
            if isinstance(sp, Mapping) and sp.get("nucleus") in _NUCLEI:
                wanted.append((i, sp["nucleus"], sp))
                rep.spectra_in[sp["nucleus"]] += 1
        if cfg.on("has_c13_or_h1") and not wanted:
            rep.records_removed["has_c13_or_h1"] += 1
            return
        failed, mol = self._molecule(record)
        if failed is not None:
            rep.records_removed[failed] += 1
            return
        from rdkit import Chem

        from nmrlens.chem.mol import element_counts, mol_formula

        counts = element_counts(mol)
        facts = _MolFacts(Chem.MolToSmiles(mol), counts.get("C", 0), counts.get("H", 0))
        candidates: dict[str, list[_Candidate]] = {"13C": [], "1H": []}
        for i, nucleus, sp in wanted:
            rule = self._check_spectrum(sp, nucleus, facts)
            spectrum = None
            if rule is None:
                try:
                    spectrum, _ = spectrum_from_record(sp, f"record {rid} spectrum {i}")
                except SpectrumFormatError:
                    rule = "unrepresentable"
            if rule is not None:
                rep.spectra_removed[rule] += 1
                continue
            assert spectrum is not None
            rep.spectra_passed[nucleus] += 1
            nh_complete = False
            if nucleus == "1H":
                n_with = sum(1 for p in spectrum.peaks if isinstance(p, Multiplet) and p.nH is not None)
                nh_complete = bool(spectrum.peaks) and n_with == len(spectrum.peaks)
                rep.h1_nh["complete_checked" if nh_complete else ("incomplete" if n_with else "missing")] += 1
            self._order += 1
            candidates[nucleus].append(_Candidate(spectrum, self._order, index, nh_complete))
        if cfg.on("has_clean_spectrum") and not (candidates["13C"] or candidates["1H"]):
            rep.records_removed["has_clean_spectrum"] += 1
            return
        key: Any = facts.smiles if cfg.on("merge_smiles") else ("#", index)
        group = self._groups.get(key)
        if group is None:
            inchikey = record.get("inchikey") or record.get("source_inchikey")
            if not isinstance(inchikey, str):
                inchikey = _safe_inchikey(mol)
            split = split_of_record(record, self.split_table) if block is not None else split_of_block(
                _smiles_block_of(facts.smiles))
            if block is not None and split != split_of_block(block):
                rep.split_table_mismatch += 1
            group = _Group(first_index=index, smiles=facts.smiles, formula=mol_formula(mol), inchikey=inchikey, split=split)
            self._groups[key] = group
        else:
            rep.records_merged += 1
        group.records.append({"nmrshiftdb2_id": rid, "molblock": record.get("molblock"), "index": index})
        group.c13.extend(candidates["13C"])
        group.h1.extend(candidates["1H"])

    # -- merge ---------------------------------------------------------------------------------
    def finish(self) -> list[Datapoint]:
        """Select one spectrum per nucleus per molecule, build the datapoints and fill the report."""
        rep = self.report
        out: list[Datapoint] = []
        for group in sorted(self._groups.values(), key=lambda g: g.first_index):
            by_index = {r["index"]: r for r in group.records}
            chosen: dict[str, _Candidate | None] = {}
            for nucleus, cands in (("13C", group.c13), ("1H", group.h1)):
                best = max(cands, key=_Candidate.score) if cands else None
                chosen[nucleus] = best
                rep.spectra_not_selected[nucleus] += len(cands) - (1 if best else 0)
            c13, h1 = chosen["13C"], chosen["1H"]
            primary = next((c for c in (c13, h1) if c is not None and any(p.atoms for p in c.spectrum.peaks)), None)
            primary = primary or c13 or h1
            main = by_index[primary.record_index] if primary else group.records[0]
            molblock = main["molblock"]
            spectra: dict[str, Spectrum1D | None] = {}
            for nucleus, cand in (("13C", c13), ("1H", h1)):
                if cand is None:
                    spectra[nucleus] = None
                    continue
                sp = cand.spectrum
                if by_index[cand.record_index]["molblock"] != molblock and any(p.atoms for p in sp.peaks):
                    sp = sp.with_(peaks=[p.with_(atoms=()) for p in sp.peaks])
                    rep.atoms_dropped_on_merge += 1
                spectra[nucleus] = sp
            ids = tuple(sorted(r["nmrshiftdb2_id"] for r in group.records if r["nmrshiftdb2_id"] is not None))
            dp = Datapoint(smiles=group.smiles, inchikey=group.inchikey, formula=group.formula, split=group.split,
                           c13=spectra["13C"], h1=spectra["1H"], nmrshiftdb2_id=main["nmrshiftdb2_id"],
                           molblock=molblock, source_ids=ids)
            out.append(dp)
            has_c, has_h = dp.c13 is not None, dp.h1 is not None
            rep.kept_per_nucleus["13C"] += has_c
            rep.kept_per_nucleus["1H"] += has_h
            rep.kept_per_nucleus["both"] += has_c and has_h
            rep.kept_per_nucleus["none"] += not (has_c or has_h)
            for nucleus, sp in (("13C", dp.c13), ("1H", dp.h1)):
                if sp is not None and any(p.atoms for p in sp.peaks):
                    rep.assigned[nucleus] += 1
            ps = rep.per_split.setdefault(dp.split, _zero_counts(["datapoints", "13C", "1H"]))
            ps["datapoints"] += 1
            ps["13C"] += has_c
            ps["1H"] += has_h
        rep.datapoints_out = len(out)
        return out


def _safe_inchikey(mol: Any) -> str | None:
    from nmrlens.chem.mol import mol_inchikey

    try:
        return mol_inchikey(mol)
    except NmrLensError:
        return None


def _smiles_block_of(smiles: str) -> str:
    from nmrlens.data.splits import smiles_block

    return smiles_block(smiles)


def curate(
    records: Iterable[Mapping[str, Any]],
    config: CurationConfig | None = None,
    *,
    split_table: Mapping[int, str] | None = None,
    on_record: Callable[[], None] | None = None,
) -> tuple[list[Datapoint], CurationReport]:
    """Curate raw nmrshiftdb2 records; returns the datapoints (file order) and the report.

    ``on_record`` is called after each record (e.g. to advance a progress bar).
    """
    curator = Curator(config, split_table)
    for record in records:
        curator.add(record)
        if on_record is not None:
            on_record()
    return curator.finish(), curator.report


# ----------------------------------------------------------------------------------------------
# datapoint files (JSON lines, gzip)

_DP_KEYS = {"smiles", "inchikey", "formula", "split", "nmrshiftdb2_id", "source_ids", "molblock", "c13", "h1"}


def datapoint_to_dict(dp: Datapoint) -> dict[str, Any]:
    """JSON object of a datapoint; spectra use the nmrlens JSON spectrum schema (:mod:`nmrlens.io.json`)."""
    from nmrlens.io.json import spectrum_to_dict

    return {
        "smiles": dp.smiles, "inchikey": dp.inchikey, "formula": dp.formula, "split": dp.split,
        "nmrshiftdb2_id": dp.nmrshiftdb2_id, "source_ids": list(dp.source_ids), "molblock": dp.molblock,
        "c13": spectrum_to_dict(dp.c13) if dp.c13 is not None else None,
        "h1": spectrum_to_dict(dp.h1) if dp.h1 is not None else None,
    }


def datapoint_from_dict(d: Any, where: str = "datapoint") -> Datapoint:
    """Build a :class:`Datapoint` from its JSON object (the inverse of :func:`datapoint_to_dict`).

    Raises:
        SpectrumFormatError: naming the field, for a missing/unknown key or a bad value.
    """
    from nmrlens.io.json import spectrum_from_dict

    if not isinstance(d, Mapping):
        raise SpectrumFormatError(where, type(d).__name__, "a JSON object")
    unknown = sorted(str(k) for k in d if k not in _DP_KEYS)
    if unknown:
        raise SpectrumFormatError(f"{where}.{unknown[0]}", unknown[0], "one of the keys " + ", ".join(sorted(_DP_KEYS)))
    for key in ("smiles", "formula", "split"):
        if not isinstance(d.get(key), str):
            raise SpectrumFormatError(f"{where}.{key}", d.get(key), "a text")
    if d["split"] not in SPLITS:
        raise SpectrumFormatError(f"{where}.split", d["split"], "one of " + ", ".join(SPLITS))
    rid = d.get("nmrshiftdb2_id")
    if rid is not None and (isinstance(rid, bool) or not isinstance(rid, int)):
        raise SpectrumFormatError(f"{where}.nmrshiftdb2_id", rid, "a whole number or null")
    ids = d.get("source_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise SpectrumFormatError(f"{where}.source_ids", ids, "a list of whole numbers")
    for key in ("inchikey", "molblock"):
        if d.get(key) is not None and not isinstance(d[key], str):
            raise SpectrumFormatError(f"{where}.{key}", d[key], "a text or null")
    spectra = {}
    for key, nucleus in (("c13", "13C"), ("h1", "1H")):
        sp = spectrum_from_dict(d[key], f"{where}.{key}") if d.get(key) is not None else None
        if sp is not None and sp.nucleus != nucleus:
            raise SpectrumFormatError(f"{where}.{key}.nucleus", sp.nucleus, f"{nucleus!r}")
        spectra[key] = sp
    return Datapoint(smiles=d["smiles"], inchikey=d.get("inchikey"), formula=d["formula"], split=d["split"],
                     c13=spectra["c13"], h1=spectra["h1"], nmrshiftdb2_id=rid, molblock=d.get("molblock"),
                     source_ids=tuple(ids))


def dumps_datapoints(datapoints: Iterable[Datapoint]) -> str:
    """JSON-lines text of datapoints (one object per line)."""
    import json

    return "".join(json.dumps(datapoint_to_dict(dp), ensure_ascii=False, allow_nan=False) + "\n" for dp in datapoints)


def write_datapoints(datapoints: Iterable[Datapoint], path: Any, *, force: bool = False) -> None:
    """Write datapoints as JSON lines (gzip when the name ends in .gz), atomically.

    Raises:
        OutputExistsError: when the file exists and ``force`` is False.
    """
    from nmrlens.io._base import write_text_atomic

    write_text_atomic(path, dumps_datapoints(datapoints), force=force)


def iter_datapoints(path: Any) -> Iterator[Datapoint]:
    """Stream the datapoints of a file written by :func:`write_datapoints`.

    Raises:
        DataNotFoundError: when the file does not exist.
        FileFormatError / SpectrumFormatError: naming the line, for a malformed datapoint.
    """
    from nmrlens.data._files import iter_json_lines

    for i, obj in enumerate(iter_json_lines(path), 1):
        yield datapoint_from_dict(obj, f"{path}: datapoint {i}")


def read_datapoints(path: Any) -> list[Datapoint]:
    """All datapoints of a file written by :func:`write_datapoints`."""
    return list(iter_datapoints(path))
