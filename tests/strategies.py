"""Hypothesis strategies for nmrlens objects (valid peaks, multiplets, spectra, queries; queries a file
format can hold; assigned queries on real structures)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from hypothesis import strategies as st

from nmrlens.spectra import CrossPeak, Multiplet, Peak, Query, Spectrum1D, Spectrum2D
from nmrlens.spectra.model import shift_range

MULTS = ["s", "d", "t", "q", "quint", "sext", "sept", "m", "dd", "dt", "td", "ddd", "br s", "app t", "qd", "dq", "tt"]
SOLVENTS = [None, "CDCl3", "DMSO-d6", "CD3OD", "D2O", "C6D6"]
FREQS = [None, 100.0, 101.0, 125.0, 150.9, 400.0, 500.0, 600.0]


def rounded(lo: float, hi: float, places: int) -> st.SearchStrategy[float]:
    """Floats in [lo, hi] rounded to ``places`` decimals."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda x: round(x, places))


@st.composite
def c13_peaks(draw: st.DrawFn, places: int = 2, with_atoms: bool = False) -> Peak:
    """A valid 13C peak."""
    return Peak(
        shift=draw(rounded(-10.0, 230.0, places)),
        mult=draw(st.sampled_from([None, "S", "D", "T", "Q"])),
        count=draw(st.sampled_from([None, 2, 3])),
        atoms=tuple(draw(st.lists(st.integers(0, 60), max_size=3, unique=True))) if with_atoms else (),
    )


@st.composite
def multiplets(draw: st.DrawFn, places: int = 2, with_atoms: bool = False) -> Multiplet:
    """A valid 1H multiplet."""
    lo = draw(rounded(-1.0, 14.0, places))
    width = draw(st.sampled_from([0.0, 0.0, 0.05, 0.12, 0.3]))
    hi = round(lo + width, places)
    mult = draw(st.sampled_from([None, *MULTS]))
    n_j = {"d": 1, "t": 1, "q": 1, "dd": 2, "dt": 2, "td": 2, "ddd": 3, "qd": 2, "dq": 2, "tt": 2}.get(mult or "", 0)
    J = tuple(draw(st.lists(rounded(0.5, 18.0, 1), min_size=n_j, max_size=n_j)))
    return Multiplet(
        shift_min=lo, shift_max=hi, mult=mult, J=J, nH=draw(st.sampled_from([None, 1, 2, 3, 6])),
        atoms=tuple(draw(st.lists(st.integers(0, 60), max_size=2, unique=True))) if with_atoms else (),
    )


@st.composite
def spectra(draw: st.DrawFn, nucleus: str | None = None, places: int = 2, with_atoms: bool = False) -> Spectrum1D:
    """A valid 13C or 1H spectrum with 1-12 peaks."""
    nuc = nucleus or draw(st.sampled_from(["13C", "1H"]))
    peak_st = c13_peaks(places, with_atoms) if nuc == "13C" else multiplets(places, with_atoms)
    return Spectrum1D(
        nucleus=nuc, peaks=tuple(draw(st.lists(peak_st, min_size=1, max_size=12))),
        solvent=draw(st.sampled_from(SOLVENTS)), frequency_MHz=draw(st.sampled_from(FREQS)),
    )


@st.composite
def queries(draw: st.DrawFn, places: int = 2) -> Query:
    """A valid query with a 13C and/or a 1H spectrum and an optional formula."""
    nuclei = draw(st.sampled_from([["13C"], ["1H"], ["13C", "1H"]]))
    return Query(
        spectra=tuple(draw(spectra(n, places)) for n in nuclei),
        formula=draw(st.sampled_from([None, "C9H10O2", "C6H6", "C2H6O"])),
    )


# ------------------------------------------------------------------------------------------------
# Queries a file format can hold: one parametrised strategy (:func:`held_queries`) whose value pools
# are the union of what the format tests drew before; :class:`Holds` says what a format can hold.

#: 1H multiplicities (canonical labels), including prefixed and long ones.
H1_MULTS = ["s", "d", "t", "q", "quint", "sext", "sept", "m", "dd", "dt", "td", "ddd", "dq", "qd", "tt", "br s",
            "br d", "app t", "br app t", "dddd", "dm"]
#: Heteronuclear splittings of non-1H peaks (``Peak.coupling``).
COUPLINGS = [None, None, "d", "t", "q", "dd", "dt", "m", "br s", "br d"]
#: Multiplet labels as authors write them (none of them looks like a multiplicity, a count or a J).
LABEL_WORDS = ["H-3", "H-2', H-6'", "NH", "OH", "ArH", "2 x CH3", "OCH3", "CH2", "H-5′a", "NH2", "Ar-H", "CHO",
               "H-1″", "N-CH3", "CH=CH", "3 × OMe", "C6H5"]
SOLVENT_NAMES = [None, "CDCl3", "DMSO-d6", "CD3OD", "D2O", "C6D6", "acetone-d6", "CD2Cl2", "(CD3)2CO", "THF-d8",
                 "CD3CN", "pyridine-d5"]
#: Solvent texts that trip naive writers (spaces, comment marks, line ends, quotes, separators).
AWKWARD_SOLVENTS = [" CDCl3 ", "a $$ b", "x\ny", "", 'CDCl3/CD3OD 9:1, "dry"']
ALL_FREQS = [None, 40.5, 100.0, 100.6, 100.61, 101.0, 125.77, 150.9, 300.0, 376.5, 400.0, 400.13, 500.0, 600.0, 850.0]
TEMPERATURES = [None, 253.15, 298.0, 298.15, 310.0]
FORMULAS = [None, "C9H10O2", "C4H8O2", "C6H5Br", "CH4", "C6H6", "C2H6O"]
SMILES_SAMPLES = [None, "CC(=O)OCc1ccccc1", "CCOC(C)=O", "F/C=C\\F", "C$$C"]
#: A molblock without atoms ("no structure") and text that is no molblock at all.
EMPTY_MOLBLOCK = "\n  x\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n"
MOLBLOCKS = (None, EMPTY_MOLBLOCK, "##A=b\n$$ c")
#: Any text but lone surrogates (which UTF-8 cannot hold).
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


def _any_text_ok(text: str) -> bool:
    return True


@dataclass(frozen=True)
class Holds:
    """What a file format can hold (the defaults: everything a :class:`Query` can hold).

    Attributes:
        nuclei: the nuclei drawn.
        min_spectra, min_peaks: fewest spectra per query and peaks per spectrum.
        unique_nuclei: at most one spectrum per nucleus in a query.
        text_ok: which free texts (labels, solvents, ids, SMILES) the format keeps exactly; None
            when it keeps none (labels then come from :data:`LABEL_WORDS`, solvents from
            :data:`SOLVENT_NAMES`).
        exact_floats: shifts, J and temperatures as any float (else rounded to 2-4 decimals).
        molblocks: the molblock values drawn (only None: the format holds none).
        atoms, intensity, formula, smiles, ids, meta, spectra2d: whether the format holds those
            fields (else they are left empty).
    """

    nuclei: tuple[str, ...] = ("13C", "1H", "19F", "31P", "15N")
    min_spectra: int = 0
    min_peaks: int = 0
    unique_nuclei: bool = False
    text_ok: Callable[[str], bool] | None = _any_text_ok
    exact_floats: bool = True
    atoms: bool = True
    intensity: bool = True
    formula: bool = True
    smiles: bool = True
    ids: bool = True
    molblocks: tuple[str | None, ...] = MOLBLOCKS
    meta: bool = True
    spectra2d: bool = True

    def text(self) -> st.SearchStrategy[str]:
        """Free text the format keeps exactly."""
        assert self.text_ok is not None
        return ANY_TEXT.filter(self.text_ok)

    def number(self, lo: float, hi: float) -> st.SearchStrategy[float]:
        """Floats in [lo, hi], rounded to 2-4 decimals (and unrounded when exact_floats)."""
        out = st.tuples(st.floats(lo, hi, allow_nan=False), st.integers(2, 4)).map(lambda t: round(t[0], t[1]))
        out = out.filter(lambda x: lo <= x <= hi)
        return out | st.floats(lo, hi, allow_nan=False) if self.exact_floats else out


@st.composite
def held_peaks(draw: st.DrawFn, nucleus: str, holds: Holds = Holds()) -> Peak:
    """A non-1H peak with the fields ``holds`` allows."""
    lo, hi = shift_range(nucleus)
    coupling = draw(st.sampled_from(COUPLINGS))
    return Peak(
        shift=draw(holds.number(lo, hi)),
        mult=draw(st.sampled_from([None, "S", "D", "T", "Q"])),
        intensity=draw(st.none() | st.floats(-1e12, 1e12, allow_nan=False)) if holds.intensity else None,
        atoms=tuple(draw(st.lists(st.integers(0, 200), max_size=4))) if holds.atoms else (),
        count=draw(st.none() | st.sampled_from([2, 3, 6]) | st.integers(1, 24)),
        coupling=coupling,
        J=tuple(draw(st.lists(holds.number(0.5, 400.0), min_size=1 if coupling else 0, max_size=3))),
    )


@st.composite
def held_multiplets(draw: st.DrawFn, holds: Holds = Holds()) -> Multiplet:
    """A 1H multiplet with the fields ``holds`` allows."""
    bottom, top = shift_range("1H")
    lo = draw(holds.number(bottom, top))
    width = draw(st.sampled_from([0.0, 0.0, 0.05, 0.1234, 1.0]))
    hi = draw(st.just(max(lo, min(top, round(lo + width, 4)))) | holds.number(lo, top))
    if holds.text_ok is None:
        label = draw(st.sampled_from([None, *LABEL_WORDS]))
    else:
        label = draw(st.none() | st.sampled_from(LABEL_WORDS) | holds.text())
    return Multiplet(
        shift_min=lo, shift_max=hi, mult=draw(st.sampled_from([None, *H1_MULTS])),
        J=tuple(draw(st.lists(holds.number(0.0, 40.0), max_size=4))),
        nH=draw(st.none() | st.sampled_from([1, 2, 3, 9, 12]) | st.integers(1, 500)),
        atoms=tuple(draw(st.lists(st.integers(0, 200), max_size=4))) if holds.atoms else (), label=label,
    )


@st.composite
def held_spectra(draw: st.DrawFn, nucleus: str, holds: Holds = Holds()) -> Spectrum1D:
    """A 1D spectrum of ``nucleus`` with the fields ``holds`` allows."""
    peak = held_multiplets(holds) if nucleus == "1H" else held_peaks(nucleus, holds)
    solvents = st.sampled_from(SOLVENT_NAMES)
    if holds.text_ok is not None:
        solvents = solvents | st.sampled_from([s for s in AWKWARD_SOLVENTS if holds.text_ok(s)]) | holds.text()
    temperatures = st.sampled_from(TEMPERATURES)
    if holds.exact_floats:
        temperatures = temperatures | st.floats(1.0, 500.0)
    return Spectrum1D(
        nucleus=nucleus, peaks=draw(st.lists(peak, min_size=holds.min_peaks, max_size=10)),
        solvent=draw(solvents), frequency_MHz=draw(st.sampled_from(ALL_FREQS)), temperature_K=draw(temperatures),
    )


@st.composite
def held_queries(draw: st.DrawFn, holds: Holds = Holds(), qid: str | None = None) -> Query:
    """A query with only what ``holds`` allows (``qid``: this id instead of a drawn one)."""
    nuclei = draw(st.lists(st.sampled_from(holds.nuclei), min_size=holds.min_spectra, max_size=3,
                           unique=holds.unique_nuclei))
    text = holds.text() if holds.text_ok is not None else st.nothing()
    if qid is None and holds.ids:
        qid = draw(st.none() | text)
    return Query(
        spectra=[draw(held_spectra(n, holds)) for n in nuclei],
        formula=draw(st.sampled_from(FORMULAS)) if holds.formula else None,
        smiles=draw(st.sampled_from(SMILES_SAMPLES) | text) if holds.smiles else None,
        id=qid,
        molblock=draw(st.sampled_from(holds.molblocks)),
        spectra2d=draw(st.sampled_from([(), (Spectrum2D("HSQC", peaks=[CrossPeak(7.26, 128.4, 3.0, (3,), (3,))]),)]))
        if holds.spectra2d else (),
        meta=draw(st.dictionaries(st.text(max_size=5), st.none() | st.integers() | st.text(max_size=8), max_size=3))
        if holds.meta else {},
    )


def held_query_lists(holds: Holds = Holds(), unique_ids: bool = False) -> st.SearchStrategy[list[Query]]:
    """Two to four queries (with distinct, non-empty ids when ``unique_ids``)."""
    if not unique_ids:
        return st.lists(held_queries(holds), min_size=2, max_size=4)
    text = holds.text() if holds.text_ok is not None else st.sampled_from(LABEL_WORDS)
    return st.lists(text.filter(bool), min_size=2, max_size=4, unique=True).flatmap(
        lambda ids: st.tuples(*(held_queries(holds, qid=i) for i in ids)).map(list))


# ------------------------------------------------------------------------------------------------
# Assigned queries on real structures (atoms of the right element; molblocks with or without H)

ASSIGNED_SMILES = ["CCOC(C)=O", "CC(=O)OCc1ccccc1", "Cc1ccccc1", "OCC(F)(F)F", "C/C=C/C(=O)O", "CP(C)(=O)OC"]
#: Labels that NMReDATA-style tags hold as they are.
PLAIN_LABELS = st.from_regex(r"[A-Za-z][A-Za-z0-9_'\-+*.#:]{0,8}", fullmatch=True)
_SHORT_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@lru_cache(maxsize=None)
def molecule(smiles: str, explicit_h: bool) -> tuple[str, tuple[str, ...]]:
    """(molblock, element of each atom) of a SMILES with RDKit 2D coordinates (explicit H atoms added when asked)."""
    from rdkit import Chem
    from rdkit.Chem import rdDepictor

    mol = Chem.MolFromSmiles(smiles)
    if explicit_h:
        mol = Chem.AddHs(mol)
    rdDepictor.Compute2DCoords(mol)
    return Chem.MolToMolBlock(mol), tuple(a.GetSymbol() for a in mol.GetAtoms())


@st.composite
def assigned_queries(draw: st.DrawFn, plain: bool = False) -> Query:
    """A query on a real structure whose peaks are assigned to atoms of the right element.

    ``plain``: labels that standard tags hold as they are, one solvent, no 13C counts, an id and
    the structure always given.
    """
    smiles = draw(st.sampled_from(ASSIGNED_SMILES))
    explicit = draw(st.booleans())
    molblock, symbols = molecule(smiles, explicit)
    heavy = [i for i, s in enumerate(symbols) if s != "H"]
    spectra = []
    nuclei = draw(st.lists(st.sampled_from(["13C", "1H", "19F", "31P"]), min_size=1, max_size=3))
    for nuc in nuclei:
        element = {"13C": "C", "19F": "F", "31P": "P"}.get(nuc)
        own = [i for i in heavy if symbols[i] == element] if element else heavy
        atoms = st.lists(st.sampled_from(own), max_size=3, unique=True).map(tuple) if own else st.just(())
        if nuc == "1H":
            peaks = draw(st.lists(st.builds(
                lambda lo, w, mult, J, nH, a, label: Multiplet(lo, round(lo + w, 4), mult, J, nH, a, label),
                rounded(-1.0, 14.0, 4), st.sampled_from([0.0, 0.0, 0.1, 0.25]), st.sampled_from([None, *MULTS]),
                st.lists(rounded(0.5, 20.0, 2), max_size=3).map(tuple), st.sampled_from([None, 1, 2, 3]), atoms,
                st.none() if plain else st.none() | PLAIN_LABELS | _SHORT_TEXT,
            ), max_size=6))
        else:
            peaks = draw(st.lists(st.builds(
                lambda shift, mult, inten, a, count: Peak(shift, mult if nuc == "13C" else None, inten, a,
                                                          None if nuc == "13C" and plain else count),
                rounded(-40.0, 230.0, 4), st.sampled_from([None, "S", "D", "T", "Q"]),
                st.none() | st.floats(-1e6, 1e6, allow_nan=False), atoms, st.sampled_from([None, 2, 3]),
            ), max_size=6))
        solvents = [None, "CDCl3"] if plain else [None, "CDCl3", "DMSO-d6"]
        spectra.append(Spectrum1D(nuc, peaks, solvent=draw(st.sampled_from(solvents)),
                                  frequency_MHz=draw(st.sampled_from([None, 100.61, 400.13]))))
    if plain:  # one solvent, unique labels that cannot clash with generated ones (C4, H4)
        counter = iter(range(1000))
        spectra = [sp.with_(solvent=spectra[0].solvent, peaks=[
            p.with_(label=f"m{next(counter)}") if isinstance(p, Multiplet) and (p.atoms or draw(st.booleans())) else p
            for p in sp.peaks]) for sp in spectra]
    return Query(
        spectra=spectra, smiles=smiles if plain or draw(st.booleans()) else None,
        molblock=molblock if plain or draw(st.booleans()) else None,
        formula=draw(st.sampled_from([None, "C4H8O2"])),
        id=draw(st.sampled_from(["q1", "ethyl acetate"]) if plain else st.none() | _SHORT_TEXT),
    )


@st.composite
def assigned_queries_with_extras(draw: st.DrawFn) -> Query:
    """:func:`assigned_queries`, sometimes without structure (atoms kept), with meta, 2D spectra,
    temperatures and free-text solvents."""
    q = draw(assigned_queries())
    if draw(st.booleans()):
        q = q.with_(molblock=None, smiles=None, spectra=[
            sp.with_(peaks=[p.with_(atoms=(7, 2)) for p in sp.peaks]) for sp in q.spectra])
    return q.with_(
        meta=draw(st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=6), max_size=2)),
        spectra2d=draw(st.sampled_from([(), (Spectrum2D("HMBC", peaks=[CrossPeak(2.1, 170.9)]),)])),
        spectra=[sp.with_(temperature_K=draw(st.sampled_from([None, 298.15, 300.0])),
                          solvent=draw(st.none() | _SHORT_TEXT)) for sp in q.spectra],
    )
