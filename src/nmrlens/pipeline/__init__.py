"""elucidate: a spectrum in, a ranked and explained list of structures out.

Candidates come from sources (a library, de novo generation, the reversible network), every
candidate gets a predicted spectrum, all are ranked by a fused score, and the top ones get an
atom <-> peak assignment. See :class:`Elucidator` and docs/elucidate.md.
"""

from nmrlens.pipeline.assignment import Assignment, PeakAssignment, ShiftMatchAssigner
from nmrlens.pipeline.candidates import (
    Candidate,
    CandidateSource,
    ComponentUnavailable,
    GeneratorSource,
    InvertSource,
    LibraryEntry,
    LibrarySource,
    ListSource,
)
from nmrlens.pipeline.elucidate import ElucidationResult, Elucidator, RankedCandidate
from nmrlens.pipeline.query import load_query, query_from_text
from nmrlens.pipeline.scoring import FusionWeights, SpectrumPredictor

__all__ = [
    "Assignment",
    "Candidate",
    "CandidateSource",
    "ComponentUnavailable",
    "ElucidationResult",
    "Elucidator",
    "FusionWeights",
    "GeneratorSource",
    "InvertSource",
    "LibraryEntry",
    "LibrarySource",
    "ListSource",
    "PeakAssignment",
    "RankedCandidate",
    "ShiftMatchAssigner",
    "SpectrumPredictor",
    "load_query",
    "query_from_text",
]
