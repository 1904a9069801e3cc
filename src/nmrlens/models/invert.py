"""Conditional invertible network between structures and the 128-bit 13C spectrum code.

:class:`ReversibleNet` is one bijection ``x <-> (z_free, y)`` built from i-RevNet blocks
(:mod:`nmrlens.nn.reversible`): additive couplings, fixed channel permutations and invertible
space-to-depth down-sampling, stage by stage, until the tensor is flattened. ``x`` is a bond-matrix
tensor (:mod:`nmrlens.chem.bondmatrix`), ``y`` the last 128 output dimensions, read as logits of
the spectrum code (:mod:`nmrlens.spectra.code`), and ``z_free`` the remaining free latents.

- Forward (structure -> spectrum code): ``sigmoid(y)``.
- Inverse (spectrum code -> structures): code logits ``y`` from the code (per-bit mean training
  logits of set, neighbouring and unset bits) and free latents ``z_free`` from one of two samplers:
  ``"gaussian"`` (per-dimension training mean/std times a temperature, the peer's choice) or
  ``"bank"`` (the free latents of kept training structures with similar codes, whose code logits
  are changed only where their code differs from the query: a minimal edit); then
  ``x = inverse(z_free, y)``, decoded into molecules (valence-checked, sanitised, de-duplicated) and
  ranked by :class:`InversePredictor` (forward-code agreement, and the shift model's predicted
  spectrum when available).

Statistics needed for inversion live in buffers (saved with the weights): ``bit_freq`` (training
frequency of each bit, the random baseline), ``y_on``/``y_adj``/``y_off``, ``z_mean``/``z_std``,
``code_threshold`` (logit threshold of a set bit, tuned on validation data), ``decode_threshold``
and ``sample_temperature``; ``bank_x``/``bank_code`` hold the kept training structures and codes
(bit-packed, ``bank_size`` of them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from nmrlens.chem.bondmatrix import DEFAULT_ELEMENTS, MAX_VALENCE, MatrixSpec, decode, encode_mol, structure_key
from nmrlens.errors import ConfigError, DataNotFoundError, NmrLensError, SpectrumFormatError
from nmrlens.nn.reversible import AdditiveCoupling, ChannelPermutation, ReversibleSequence, SpaceToDepth
from nmrlens.spectra.code import CODE_BITS, spectrum_code

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = [
    "ReversibleNet",
    "code_loss",
    "plausibility_terms",
    "neighbour_mask",
    "code_scores",
    "shift_scores",
    "Candidate",
    "Samples",
    "InversionResult",
    "InversePredictor",
    "DEFAULT_CHECKPOINTS",
    "shift_model_available",
    "predict_c13",
]

log = logging.getLogger(__name__)
#: Shipped checkpoints (in nmrlens/weights) by variant.
DEFAULT_CHECKPOINTS: dict[str, str] = {"revmolspec": "invert_revmolspec", "general": "invert_general"}


def neighbour_mask(codes: Tensor) -> Tensor:
    """Bits that are unset but next to a set bit (same shape as ``codes``, bool)."""
    on = codes > 0.5
    left = torch.zeros_like(on)
    right = torch.zeros_like(on)
    left[..., 1:] = on[..., :-1]
    right[..., :-1] = on[..., 1:]
    return (left | right) & ~on


class ReversibleNet(nn.Module):
    """i-RevNet style conditional invertible network (see the module docstring).

    Args:
        layout, size, elements, atom_order: the structure tensor (:class:`~nmrlens.chem.bondmatrix.MatrixSpec`).
        code_bits: number of spectrum-code outputs (the last ``code_bits`` output dimensions).
        blocks: coupling blocks per stage; ``len(blocks) - 1`` space-to-depth steps separate the stages.
        hidden: width of the coupling functions per stage.
        kernels: convolution size per stage (default 3, and 1 where the stage is 1 x 1).
        permute: put a fixed channel permutation before every coupling.
        seed: seed of those permutations.
        clamp: soft bound of every coupling residual (0 = none), see :class:`~nmrlens.nn.reversible.AdditiveCoupling`.
        dropout: dropout inside the coupling functions while training (none at inference).
        axial: row/column context in the coupling functions of the stages larger than 1 x 1
            (message passing over the bond matrix, :class:`~nmrlens.nn.reversible.AxialContext`).
        bank_size: number of training structures (and codes) kept as bit-packed buffers; their
            free latents are the empirical prior of :meth:`bank_latents` (0 = none).
    """

    def __init__(self, layout: str = "revmolspec", size: int = 16, elements: Sequence[str] = DEFAULT_ELEMENTS,
                 atom_order: str = "canonical", code_bits: int = CODE_BITS, blocks: Sequence[int] = (2, 2, 2, 2, 4),
                 hidden: Sequence[int] = (16, 32, 64, 64, 128), kernels: Sequence[int] | None = None,
                 permute: bool = True, seed: int = 0, clamp: float = 0.0, dropout: float = 0.0,
                 axial: bool = False, bank_size: int = 0) -> None:
        super().__init__()
        self.hparams: dict[str, Any] = {
            "layout": layout, "size": int(size), "elements": list(elements), "atom_order": atom_order,
            "code_bits": int(code_bits), "blocks": [int(b) for b in blocks], "hidden": [int(h) for h in hidden],
            "kernels": None if kernels is None else [int(k) for k in kernels], "permute": bool(permute), "seed": int(seed),
            "clamp": float(clamp), "dropout": float(dropout), "axial": bool(axial), "bank_size": int(bank_size),
        }
        self.spec = MatrixSpec(layout, int(size), tuple(elements), atom_order)  # type: ignore[arg-type]
        levels = len(blocks) - 1
        if len(hidden) != len(blocks) or (kernels is not None and len(kernels) != len(blocks)):
            raise ConfigError("model: blocks, hidden (and kernels) need one entry per stage")
        if levels < 0 or size % (2 ** levels):
            raise ConfigError(f"model: {levels} space-to-depth steps do not divide size {size}")
        c, s = self.spec.channels, int(size)
        self.total_dim = c * s * s
        if not 0 < code_bits < self.total_dim:
            raise ConfigError(f"model.code_bits: got {code_bits}, expected 1..{self.total_dim - 1}")
        self.code_bits = int(code_bits)
        self.z_free_dim = self.total_dim - self.code_bits
        layers: list[nn.Module] = []
        for stage, (n_blocks, width) in enumerate(zip(blocks, hidden)):
            ch, sp = c * 4 ** stage, s // 2 ** stage
            k = kernels[stage] if kernels is not None else (3 if sp > 1 else 1)
            for b in range(n_blocks):
                if permute:
                    layers.append(ChannelPermutation(ch, seed=seed * 1000 + stage * 100 + b))
                coupling = AdditiveCoupling(ch, int(width), int(k), clamp=float(clamp), axial=bool(axial) and sp > 1)
                if dropout > 0:
                    for net in (coupling.F, coupling.G):
                        net.insert(len(net) - 1, nn.Dropout(float(dropout)))
                layers.append(coupling)
            if stage < levels:
                layers.append(SpaceToDepth(2))
        self.body = ReversibleSequence(layers)
        self.out_shape = (c * 4 ** levels, s // 2 ** levels, s // 2 ** levels)
        # learned diagonal Gaussian prior of the free latents (equivalent to a final elementwise
        # affine flow layer; with the volume-preserving body its NLL is the flow's likelihood)
        self.prior_mean = nn.Parameter(torch.zeros(self.z_free_dim))
        self.prior_log_std = nn.Parameter(torch.zeros(self.z_free_dim))
        # inversion statistics (set by fit_statistics / training)
        self.register_buffer("bit_freq", torch.full((code_bits,), 0.05))
        self.register_buffer("y_on", torch.full((code_bits,), 2.0))
        self.register_buffer("y_adj", torch.full((code_bits,), -2.0))
        self.register_buffer("y_off", torch.full((code_bits,), -4.0))
        self.register_buffer("z_mean", torch.zeros(self.z_free_dim))
        self.register_buffer("z_std", torch.ones(self.z_free_dim))
        self.register_buffer("code_threshold", torch.tensor(0.0))
        self.register_buffer("decode_threshold", torch.tensor(0.5))
        self.register_buffer("sample_temperature", torch.tensor(1.0))
        if bank_size < 0:
            raise ConfigError(f"model.bank_size: got {bank_size}, expected >= 0")
        self.register_buffer("bank_x", torch.zeros(int(bank_size), (self.total_dim + 7) // 8, dtype=torch.uint8))
        self.register_buffer("bank_code", torch.zeros(int(bank_size), (code_bits + 7) // 8, dtype=torch.uint8))
        self.register_buffer("bank_count", torch.tensor(0))
        allowed, incidence, weights = self._structure_masks()
        self.register_buffer("allowed_mask", allowed, persistent=False)
        self.register_buffer("incidence", incidence, persistent=False)
        self.register_buffer("order_weights", weights, persistent=False)

    # ----------------------------------------------------------------- structure masks
    def _structure_masks(self) -> tuple[Tensor, Tensor, Tensor]:
        spec = self.spec
        c, s = spec.channels, spec.size
        n = spec.max_atoms
        allowed = np.zeros((c, s, s), dtype=np.float32)
        incidence = np.zeros((n, s * s), dtype=np.float32)
        for i in range(n):
            for j in range(i + 1, n):
                r, cc = spec.pair_position(i, j)
                allowed[:4, r, cc] = 1.0
                incidence[i, r * s + cc] = 1.0
                incidence[j, r * s + cc] = 1.0
        if spec.layout == "general":
            for i in range(s):
                allowed[: len(spec.elements), i, i] = 1.0
        weights = torch.tensor([1.0, 2.0, 3.0])
        return torch.from_numpy(allowed), torch.from_numpy(incidence), weights

    # ----------------------------------------------------------------- the bijection
    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Structure tensor ``(B, C, S, S)`` -> ``(z_free (B, D-128), code logits (B, 128))``."""
        z = self.body(x).reshape(x.shape[0], -1)
        return z[:, : self.z_free_dim], z[:, self.z_free_dim:]

    def inverse(self, z_free: Tensor, y: Tensor) -> Tensor:
        """``(z_free, code logits)`` -> structure tensor ``(B, C, S, S)`` (exact inverse of :meth:`forward`)."""
        z = torch.cat([z_free, y], dim=1).reshape(z_free.shape[0], *self.out_shape)
        return self.body.inverse(z)

    def prior_nll(self, z_free: Tensor) -> Tensor:
        """Mean negative log-likelihood per dimension of free latents under the learned diagonal
        Gaussian prior (constant dropped)."""
        log_std = self.prior_log_std.clamp(-7.0, 5.0)
        return (0.5 * ((z_free - self.prior_mean) * torch.exp(-log_std)) ** 2 + log_std).mean()

    def prior_sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """``n`` free-latent vectors from the learned prior (standard deviations times ``temperature``)."""
        eps = torch.randn(n, self.z_free_dim, generator=generator, dtype=self.prior_mean.dtype)
        return self.prior_mean + temperature * torch.exp(self.prior_log_std.clamp(-7.0, 5.0)) * eps.to(self.prior_mean.device)

    def reconstruct(self, x: Tensor) -> Tensor:
        """``inverse(forward(x))`` (equals ``x`` up to rounding)."""
        return self.inverse(*self.forward(x))

    # ----------------------------------------------------------------- inversion helpers
    def query_logits(self, codes: Tensor) -> Tensor:
        """Code logits to invert for 0/1 codes ``(B, 128)``: the training means of set, neighbouring and unset bits."""
        on = codes > 0.5
        adj = neighbour_mask(codes)
        return torch.where(on, self.y_on, torch.where(adj, self.y_adj, self.y_off))

    def sample_latents(self, n: int, temperature: float | None = None, generator: torch.Generator | None = None) -> Tensor:
        """``n`` free-latent vectors from ``N(z_mean, (T z_std)^2)``."""
        t = float(self.sample_temperature) if temperature is None else float(temperature)
        eps = torch.randn(n, self.z_free_dim, generator=generator, dtype=self.z_mean.dtype)
        return self.z_mean + t * self.z_std * eps.to(self.z_mean.device)

    @torch.no_grad()
    def set_bank(self, x: Tensor, codes: Tensor) -> None:
        """Keep up to ``bank_size`` structure tensors (0/1) and their codes, bit-packed."""
        k = min(len(x), self.bank_x.shape[0])
        xb = np.packbits(x[:k].reshape(k, -1).numpy() > 0.5, axis=1)
        cb = np.packbits(codes[:k].numpy() > 0.5, axis=1)
        self.bank_x.zero_()
        self.bank_code.zero_()
        self.bank_x[:k] = torch.from_numpy(xb)
        self.bank_code[:k] = torch.from_numpy(cb)
        self.bank_count.fill_(k)

    def bank(self) -> tuple[Tensor, Tensor]:
        """The kept structures ``(k, C, S, S)`` float and codes ``(k, 128)`` float."""
        k = int(self.bank_count)
        x = np.unpackbits(self.bank_x[:k].numpy(), axis=1)[:, : self.total_dim]
        c = np.unpackbits(self.bank_code[:k].numpy(), axis=1)[:, : self.code_bits]
        return (torch.from_numpy(x.astype(np.float32)).reshape(k, *self.spec.shape),
                torch.from_numpy(c.astype(np.float32)))

    @torch.no_grad()
    def bank_latents(self, codes: Tensor, n: int, *, neighbours: int = 32, temperature: float | None = None,
                     generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """``n`` latent vectors from the empirical prior, for one query code ``(1, 128)``.

        The kept training structures whose codes best match the query (overlap of the codes widened
        by one window) are ranked, ``n`` are drawn uniformly from the ``neighbours`` best, and their
        forward latents are returned: free latents plus Gaussian noise of ``temperature x z_std``,
        and code logits in which only the bits where the structure's code differs from the query are
        replaced by the query's logits (:meth:`query_logits`), a minimal edit towards the query.

        Returns:
            ``(z_free (n, D-128), code logits (n, 128))``.

        Raises:
            ConfigError: when the model keeps no structures (``bank_size`` 0).
        """
        if int(self.bank_count) == 0:
            raise ConfigError("sampler: this checkpoint keeps no training structures (bank_size 0); use 'gaussian'")
        bx, bc = self.bank()
        q = codes.reshape(1, -1) > 0.5

        def wide(a: Tensor) -> Tensor:
            return a | torch.nn.functional.pad(a, (1, 0))[:, :-1] | torch.nn.functional.pad(a, (0, 1))[:, 1:]

        bcb = bc > 0.5
        inter = (wide(bcb) & q).sum(1) + (bcb & wide(q)).sum(1)
        union = bcb.sum(1) + q.sum(1)
        sim = inter.float() / union.clamp(min=1).float()
        top = torch.argsort(-sim, stable=True)[: max(1, min(neighbours, len(sim)))]
        pick = top[torch.randint(0, len(top), (n,), generator=generator)]
        z, y = self(bx[pick])
        t = float(self.sample_temperature) if temperature is None else float(temperature)
        eps = torch.randn(n, self.z_free_dim, generator=generator, dtype=z.dtype)
        y_q = self.query_logits(q.to(y.dtype)).expand(n, -1)
        same = bcb[pick] == q
        return z + t * self.z_std * eps, torch.where(same, y, y_q)

    @torch.no_grad()
    def fit_statistics(self, x: Tensor, codes: Tensor, batch_size: int = 256) -> None:
        """Set ``bit_freq``, ``y_on``/``y_adj``/``y_off`` and ``z_mean``/``z_std`` from training data."""
        zs, ys = [], []
        for start in range(0, len(x), batch_size):
            z, y = self(x[start:start + batch_size])
            zs.append(z)
            ys.append(y)
        z, y = torch.cat(zs), torch.cat(ys)
        codes = codes.to(y.dtype)
        on = codes > 0.5
        adj = neighbour_mask(codes)
        off = ~on & ~adj
        self.bit_freq.copy_(codes.mean(0))
        for buf, mask in ((self.y_on, on), (self.y_adj, adj), (self.y_off, off)):
            cnt = mask.sum(0)
            total = torch.where(mask, y, torch.zeros_like(y)).sum(0)
            fallback = y[mask].mean() if bool(mask.any()) else buf.mean()
            buf.copy_(torch.where(cnt > 0, total / cnt.clamp(min=1), fallback))
        self.z_mean.copy_(z.mean(0))
        self.z_std.copy_(z.std(0).clamp(min=1e-3))

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters())


# --------------------------------------------------------------------- losses
def code_loss(logits: Tensor, codes: Tensor, *, tolerance: str = "adjacent", adjacent_weight: float = 0.25,
              pos_weight: float = 1.0) -> Tensor:
    """Binary cross-entropy on the code with a tolerance for bits next to a set bit.

    ``tolerance="adjacent"``: unset bits next to a set bit count with ``adjacent_weight`` (a peak
    near a window edge may fall on either side). ``"inverse_distance"``: the peer's weighting,
    ``1 / (1 + d)`` with ``d`` the distance (in bits) to the nearest set bit. ``pos_weight``
    scales the set bits (the code is sparse, ~6% ones).
    """
    codes = codes.to(logits.dtype)
    pw = torch.tensor(float(pos_weight), dtype=logits.dtype, device=logits.device)
    bce = nn.functional.binary_cross_entropy_with_logits(logits, codes, reduction="none", pos_weight=pw)
    if tolerance == "adjacent":
        w = torch.where(neighbour_mask(codes), torch.full_like(codes, adjacent_weight), torch.ones_like(codes))
    elif tolerance == "inverse_distance":
        idx = torch.arange(codes.shape[1], device=codes.device, dtype=logits.dtype)
        dist = (idx[:, None] - idx[None, :]).abs()
        d = torch.where(codes[:, None, :] > 0.5, dist[None], torch.full_like(dist[None], float("inf"))).amin(-1)
        d = torch.where(torch.isinf(d), torch.ones_like(d), d)
        w = 1.0 / (1.0 + d)
    else:
        raise ConfigError(f"loss.tolerance: got {tolerance!r}, expected 'adjacent' or 'inverse_distance'")
    return (w * bce).sum() / w.sum()


def plausibility_terms(model: ReversibleNet, x_gen: Tensor, x_ref: Tensor) -> dict[str, Tensor]:
    """Penalties that keep structures generated by the inverse plausible (each a scalar tensor).

    All are L1-type (bounded gradients, so a poor sample cannot blow up training):

    - ``zero``: mean |x| of the cells that no structure uses (lower triangle, unused channels);
    - ``binary``: mean distance of the used cells to the nearer of 0 and 1;
    - ``valence``: mean excess of each atom's soft bond-order sum (cells clamped to 0..1) over its
      element's valence (carbon 4; in the general layout the diagonal element channels set it);
    - ``density``: |soft number of bonds - that of ``x_ref``| (the structure whose code was
      inverted) per atom slot.
    """
    allowed = model.allowed_mask
    spec = model.spec
    b = x_gen.shape[0]
    zero = (x_gen * (1 - allowed)).abs().sum((1, 2, 3)).mean() / (1 - allowed).sum().clamp(min=1)
    near = torch.minimum(x_gen.abs(), (1 - x_gen).abs()) * allowed
    binary = near.sum((1, 2, 3)).mean() / allowed.sum()
    xb = x_gen[:, :3].clamp(0, 1)
    soft_orders = (xb * model.order_weights.view(1, 3, 1, 1)).sum(1).reshape(b, -1)  # (B, S*S)
    valence = soft_orders @ model.incidence.T  # (B, atoms)
    n = spec.max_atoms
    if spec.layout == "general":
        k = len(spec.elements)
        diag = x_gen[:, :k, torch.arange(n), torch.arange(n)].clamp(0, 1)  # (B, k, n)
        vals = torch.tensor([MAX_VALENCE[e] - 4.0 for e in spec.elements], dtype=x_gen.dtype, device=x_gen.device)
        max_val = 4.0 + (diag * vals.view(1, -1, 1)).sum(1)
    else:
        max_val = torch.full_like(valence, 4.0)
    val_term = nn.functional.relu(valence - max_val).mean()
    bonds_gen = (x_gen[:, :3] * allowed[:3]).sum((1, 2, 3))
    bonds_ref = x_ref[:, :3].sum((1, 2, 3))
    density = ((bonds_gen - bonds_ref) / n).abs().mean()
    return {"zero": zero, "binary": binary, "valence": val_term, "density": density}


# --------------------------------------------------------------------- scoring
def code_scores(probs: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Agreement of predicted bit probabilities ``(n, 128)`` with a query code (higher is better).

    Mean log-likelihood per bit with a one-bit tolerance: a set query bit scores
    ``log max(p[k-1], p[k], p[k+1])``, an unset bit next to a set one is ignored, every other unset
    bit scores ``log(1 - p[k])``.
    """
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-6, 1 - 1e-6)
    q = np.asarray(code) > 0
    padded = np.pad(p, ((0, 0), (1, 1)), constant_values=1e-6)
    best = np.maximum(np.maximum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
    adj = np.zeros_like(q)
    adj[1:] |= q[:-1]
    adj[:-1] |= q[1:]
    adj &= ~q
    far = ~q & ~adj
    ll = np.log(best[:, q]).sum(1) + np.log(1 - p[:, far]).sum(1)
    return ll / max(1, int(q.sum() + far.sum()))


def shift_scores(predicted: Sequence[Sequence[float] | None], query: Sequence[float], cap_ppm: float = 10.0) -> np.ndarray:
    """Agreement of predicted 13C peak lists with the query peaks (higher is better, 0 = identical).

    Minus the symmetric mean nearest-peak distance in ppm (each distance capped at ``cap_ppm``):
    ``-(mean_q min_p |q - p| + mean_p min_q |p - q|) / 2``; None (no prediction) scores ``-cap_ppm``.
    """
    qa = np.asarray(list(query), dtype=np.float64)
    out = np.full(len(predicted), -float(cap_ppm))
    if not len(qa):
        return out
    for i, pred in enumerate(predicted):
        if not pred:
            continue
        pa = np.asarray(list(pred), dtype=np.float64)
        d = np.minimum(np.abs(qa[:, None] - pa[None, :]), cap_ppm)
        out[i] = -0.5 * (d.min(1).mean() + d.min(0).mean())
    return out


@dataclass(frozen=True)
class Candidate:
    """One candidate structure of an inversion.

    Attributes:
        smiles: canonical SMILES; key: InChIKey connectivity block.
        count: how many of the samples decoded to it.
        code_score: forward-code agreement with the query (:func:`code_scores`).
        shift_score: predicted-spectrum agreement (:func:`shift_scores`, ppm), None without a shift model.
        score: the ranking score (shift_score + shift_code_weight * code_score when available, else code_score).
    """

    smiles: str
    key: str
    count: int
    code_score: float
    shift_score: float | None
    score: float


@dataclass(frozen=True)
class Samples:
    """Decoded inverse samples of one query (see :meth:`InversePredictor.sample_structures`)."""

    structures: list[tuple[str, str, int]]
    n_samples: int
    n_valid: int
    n_valid_strict: int


@dataclass(frozen=True)
class InversionResult:
    """Ranked candidates of one query (best first) and how they were obtained."""

    code: np.ndarray
    candidates: tuple[Candidate, ...]
    n_samples: int
    n_valid: int
    ranking: str

    @property
    def valid_fraction(self) -> float:
        """Valid molecules among the decoded samples."""
        return self.n_valid / self.n_samples if self.n_samples else 0.0


def _as_code(query: Any) -> tuple[np.ndarray, list[float] | None]:
    """(code, shifts or None) of a Spectrum1D, a list of shifts (ppm) or a 128-bit 0/1 array."""
    from nmrlens.spectra.code import code_of_spectrum
    from nmrlens.spectra.model import Spectrum1D

    if isinstance(query, Spectrum1D):
        return code_of_spectrum(query), list(query.shifts)
    if isinstance(query, np.ndarray) and query.dtype.kind in "biu" and query.shape == (CODE_BITS,):
        if not np.isin(query, (0, 1)).all():
            raise SpectrumFormatError("code", query, f"{CODE_BITS} values 0/1")
        return query.astype(np.uint8), None
    if isinstance(query, (list, tuple, np.ndarray)):
        shifts = [float(s) for s in query]
        if not shifts:
            raise SpectrumFormatError("shifts", [], "at least one 13C shift")
        return spectrum_code(shifts), shifts
    raise SpectrumFormatError("query", type(query).__name__, "a 13C Spectrum1D, a list of shifts in ppm or a 128-bit code")


class InversePredictor:
    """A loaded :class:`ReversibleNet` with molecule encoding, candidate generation and ranking."""

    def __init__(self, model: ReversibleNet, sidecar: dict[str, Any] | None = None) -> None:
        self.model = model.eval()
        self.sidecar = sidecar or {}
        self.spec = model.spec
        extra = self.sidecar.get("extra") or {}
        self.shift_code_weight = float(extra.get("shift_code_weight", 10.0))
        self.refine_steps = int(extra.get("refine_steps", 0))
        self.sampler = str(extra.get("sampler", "bank"))
        self.neighbours = int(extra.get("neighbours", 32))

    @classmethod
    def load(cls, path: str | None = None, variant: str = "revmolspec") -> "InversePredictor":
        """Load a checkpoint (default: the shipped one of ``variant``, "revmolspec" or "general")."""
        from nmrlens.models.checkpoint import load_checkpoint, weights_path

        if path is None:
            if variant not in DEFAULT_CHECKPOINTS:
                raise ConfigError(f"variant: got {variant!r}, expected one of {', '.join(DEFAULT_CHECKPOINTS)}")
            path = str(weights_path(DEFAULT_CHECKPOINTS[variant]))
        model, sidecar = load_checkpoint(path)
        if not isinstance(model, ReversibleNet):
            raise ConfigError(f"checkpoint: {path!r} holds a {type(model).__name__}, expected a ReversibleNet")
        return cls(model, sidecar)

    # ----------------------------------------------------------------- forward direction
    def encode(self, molecules: Sequence[Any]) -> np.ndarray:
        """Structure tensors of molecules (SMILES, molblock or Mol).

        Raises:
            InvalidMoleculeError: for a molecule this model's layout cannot hold.
        """
        from nmrlens.chem.validate import to_mol

        return np.stack([encode_mol(to_mol(m), self.spec) for m in molecules]) if molecules else np.zeros((0, *self.spec.shape), np.float32)

    @torch.no_grad()
    def code_probabilities(self, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Bit probabilities ``(n, 128)`` of structure tensors (0.5 at the tuned threshold)."""
        out = []
        thr = float(self.model.code_threshold)
        for start in range(0, len(x), batch_size):
            _, y = self.model(torch.from_numpy(np.asarray(x[start:start + batch_size], dtype=np.float32)))
            out.append(torch.sigmoid(y - thr).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.code_bits), np.float32)

    def forward_code(self, molecule: Any) -> tuple[np.ndarray, np.ndarray]:
        """Predicted code of one molecule: ``(bits (128,) uint8, probabilities (128,))``."""
        p = self.code_probabilities(self.encode([molecule]))[0]
        return (p > 0.5).astype(np.uint8), p

    # ----------------------------------------------------------------- inverse direction
    @torch.no_grad()
    def sample_structures(self, code: np.ndarray, n: int, *, seed: int = 0, temperature: float | None = None,
                          refine: int | None = None, connect: bool = True, sampler: str | None = None) -> "Samples":
        """Invert ``n`` latent samples for one code and decode them.

        Args:
            refine: rounds of refinement (default: the checkpoint's ``refine_steps``): every new
                distinct structure is encoded, its code logits are replaced by the query's where
                its predicted code differs from the query, and the inverse is decoded again (an
                edit of a real structure towards the query code); new structures join the candidates.
            connect: join disconnected pieces when decoding (see :func:`~nmrlens.chem.bondmatrix.decode`).
            sampler: where the free latents come from (default: the checkpoint's ``sampler``):
                ``"gaussian"`` (training mean/std per dimension, the peer's choice), ``"bank"``
                (the empirical prior of the kept training structures, :meth:`ReversibleNet.bank_latents`)
                or ``"mixed"`` (half of each).

        Returns:
            :class:`Samples`: distinct structures ``(smiles, key, count)`` in order of first
            appearance, and how many of the ``n`` first-round samples decoded to a valid molecule
            with and without joining pieces.
        """
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 100_000:
            raise ConfigError(f"n: got {n!r}, expected a whole number 1..100000")
        rounds = self.refine_steps if refine is None else int(refine)
        g = torch.Generator().manual_seed(int(seed))
        code_t = torch.from_numpy(np.asarray(code, dtype=np.float32)).reshape(1, -1)
        y_q = self.model.query_logits(code_t)
        z, y_first = self._latents(code_t, y_q, n, sampler or self.sampler, temperature, g)
        thr = float(self.model.decode_threshold)
        found: dict[str, list[Any]] = {}
        n_valid = n_strict = 0
        x = self.model.inverse(z, y_first).numpy()
        fresh: list[Any] = []
        for xi in x:
            d = decode(xi, self.spec, threshold=thr)
            if d.valid:
                n_strict += 1
            elif connect and d.reason == "disconnected":
                d = decode(xi, self.spec, threshold=thr, connect=True)
            if not d.valid:
                continue
            n_valid += 1
            if self._add(found, d):
                fresh.append(d.mol)
        for _ in range(rounds):
            if not fresh:
                break
            try:
                xs = self.encode(fresh)
            except NmrLensError:
                break
            zf, yf = self.model(torch.from_numpy(xs))
            same = (yf > self.model.code_threshold) == (code_t > 0.5)
            xr = self.model.inverse(zf, torch.where(same, yf, y_q.expand(len(fresh), -1))).numpy()
            fresh = []
            for xi in xr:
                d = decode(xi, self.spec, threshold=thr, connect=connect)
                if d.valid and self._add(found, d):
                    fresh.append(d.mol)
        return Samples([tuple(v) for v in found.values()], n, n_valid, n_strict)  # type: ignore[misc]

    def _latents(self, code_t: Tensor, y_q: Tensor, n: int, sampler: str, temperature: float | None,
                 g: torch.Generator) -> tuple[Tensor, Tensor]:
        if sampler not in ("gaussian", "bank", "mixed"):
            raise ConfigError(f"sampler: got {sampler!r}, expected 'gaussian', 'bank' or 'mixed'")
        has_bank = int(self.model.bank_count) > 0
        if sampler == "gaussian" or not has_bank:
            return self.model.sample_latents(n, temperature, g), y_q.expand(n, -1)
        if sampler == "bank":
            return self.model.bank_latents(code_t, n, neighbours=self.neighbours, temperature=temperature, generator=g)
        k = n // 2
        zb, yb = self.model.bank_latents(code_t, n - k, neighbours=self.neighbours, temperature=temperature, generator=g)
        if not k:
            return zb, yb
        return torch.cat([zb, self.model.sample_latents(k, temperature, g)]), torch.cat([yb, y_q.expand(k, -1)])

    @staticmethod
    def _add(found: dict[str, list[Any]], d: Any) -> bool:
        """Count a decoded structure; True when it is new."""
        try:
            key = structure_key(d.mol)
        except NmrLensError:
            return False
        if key in found:
            found[key][2] += 1
            return False
        found[key] = [d.smiles, key, 1]
        return True

    def rank(self, code: np.ndarray, structures: Sequence[tuple[str, str, int]], *, shifts: Sequence[float] | None = None,
             predicted_shifts: Sequence[Sequence[float] | None] | None = None) -> list[Candidate]:
        """Rank candidate structures ``[(smiles, key, count)]`` for a query code (best first).

        With ``predicted_shifts`` (one predicted 13C peak list per structure) and the query's
        ``shifts``, the score is ``shift_score + shift_code_weight * code_score``; else ``code_score``.
        """
        if not structures:
            return []
        x = self.encode([s for s, _, _ in structures])
        cs = code_scores(self.code_probabilities(x), code)
        ss = shift_scores(predicted_shifts, shifts) if (predicted_shifts is not None and shifts) else None
        cands = []
        for i, (smi, key, cnt) in enumerate(structures):
            s_shift = None if ss is None else float(ss[i])
            score = float(cs[i]) if s_shift is None else s_shift + self.shift_code_weight * float(cs[i])
            cands.append(Candidate(smi, key, int(cnt), float(cs[i]), s_shift, score))
        cands.sort(key=lambda c: (-c.score, -c.count, c.smiles))
        return cands

    def invert(self, query: Any, n: int = 100, *, seed: int = 0, temperature: float | None = None,
               use_shift_model: bool | None = None, shift_checkpoint: str | None = None) -> InversionResult:
        """Candidate structures for a 13C spectrum (Spectrum1D or shifts in ppm) or a 128-bit code.

        Args:
            n: latent samples to invert.
            use_shift_model: rank with the shift model's predicted spectra too (None: when the
                query has shifts and a shift-model checkpoint is available).
        """
        code, shifts = _as_code(query)
        samples = self.sample_structures(code, n, seed=seed, temperature=temperature)
        structures, n_valid = samples.structures, samples.n_valid
        predicted = None
        if shifts and use_shift_model is not False and structures:
            predicted = predict_c13([s for s, _, _ in structures], shift_checkpoint, required=bool(use_shift_model))
        cands = self.rank(code, structures, shifts=shifts, predicted_shifts=predicted)
        ranking = "shift_model+forward_code" if predicted is not None else "forward_code"
        return InversionResult(code, tuple(cands), n, n_valid, ranking)


def shift_model_available(checkpoint: str | None = None) -> bool:
    """True when a shift-model checkpoint (default: the shipped default shift model,
    :data:`nmrlens.models.shifts.DEFAULT_CHECKPOINT`) exists."""
    from pathlib import Path

    from nmrlens.models.checkpoint import weights_path
    from nmrlens.models.shifts import DEFAULT_CHECKPOINT

    stem = Path(checkpoint) if checkpoint else weights_path(DEFAULT_CHECKPOINT)
    stem = stem.with_suffix("") if stem.suffix in (".json", ".safetensors") else stem
    return stem.with_suffix(".safetensors").is_file() and stem.with_suffix(".json").is_file()


def predict_c13(smiles: Sequence[str], checkpoint: str | None = None, *, required: bool = False,
                batch_size: int = 256) -> list[list[float] | None] | None:
    """Predicted 13C peak lists (ppm, symmetry-merged) of molecules with :func:`nmrlens.api.predict_many`;
    None when no shift model is available (an error when ``required``). A molecule the shift model
    rejects gets None."""
    if not shift_model_available(checkpoint):
        if required:
            raise DataNotFoundError("shift model: no checkpoint found (the shipped default shift model or --shift-checkpoint)")
        return None
    from nmrlens import api

    out: list[list[float] | None] = []
    for start in range(0, len(smiles), batch_size):
        chunk = list(smiles[start:start + batch_size])
        try:
            preds = api.predict_many(chunk, nuclei=("13C",), checkpoint=checkpoint, batch_size=batch_size)
            out.extend(_c13_of(p) for p in preds)
        except NmrLensError:
            for smi in chunk:
                try:
                    out.append(_c13_of(api.predict(smi, nuclei=("13C",), checkpoint=checkpoint)))
                except NmrLensError:
                    out.append(None)
    return out


def _c13_of(pred: Any) -> list[float] | None:
    sp = pred.query.spectrum("13C")
    return list(sp.shifts) if sp is not None and len(sp) else None
