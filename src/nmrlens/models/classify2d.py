"""Spectrum-image classifier for HSQC/HMBC spectra (:class:`SpectrumCNN`) and its image preprocessing.

Images
------
All images (the peer's JPEGs, BMRB contour PNGs, rendered peak lists) go through one function,
:func:`preprocess_image`, used by training, evaluation and the CLI:

1. greyscale (Pillow "L"); *ink* = 1 - grey / 255, so peaks are bright on a dark background;
2. ink below ``threshold`` (default 0.1: JPEG ringing, light grid remains) is set to 0;
3. block-max downsampling to ``size`` = (height, width) (default 96 x 128) with adaptive max
   pooling: a contour ring of one pixel survives, where averaging would erase it;
4. ``border`` pixels at the frame are zeroed (frame lines left over from cropping);
5. division by the image maximum (intensity normalisation; an empty image stays zero).

Orientation is kept as drawn: 1H (f2) horizontal with high ppm on the left, 13C (f1) vertical
with low ppm at the top (the convention of the substructuresnmr images, approximately 10 -> 0 ppm
by 0 -> 200 ppm, and of :mod:`nmrlens.spectra.render2d`). BMRB images have unknown, varying ppm
windows; they are used as drawn (full frame), and training augments with small shifts and scalings.

Model
-----
:class:`SpectrumCNN` has one :class:`~nmrlens.nn.cnn.CNNEncoder` per experiment ("branch", e.g.
HSQC and HMBC); the branch features are concatenated with a presence mask (a missing spectrum
contributes zeros) and a small head gives one logit per class. ``multilabel`` models use sigmoid
outputs (substructures: several may be present in a mixture, none in an unrelated compound);
otherwise softmax (compound classes). Input: (B, n_branches, H, W) in [0, 1].
:class:`SpectrumCNNEnsemble` averages the class probabilities of several such models (e.g. seeds)
behind the same interface.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from nmrlens.errors import DataNotFoundError, FileFormatError, NmrLensError

__all__ = [
    "IMAGE_SIZE",
    "EXPERIMENTS",
    "SUBSTRUCTURE_CLASSES",
    "DEFAULT_CHECKPOINTS",
    "MAX_IMAGE_PIXELS",
    "load_image",
    "preprocess_image",
    "stack_branches",
    "SpectrumCNN",
    "SpectrumCNNEnsemble",
    "Classification",
    "SpectrumClassifier",
    "PEAKLIST_EXTENSIONS",
    "spectrum_image",
    "Classify2DResult",
    "classify2d",
]

log = logging.getLogger(__name__)

#: Default model input size (height = 13C axis, width = 1H axis), pixels.
IMAGE_SIZE: tuple[int, int] = (96, 128)
#: Experiments a branch can take.
EXPERIMENTS: tuple[str, ...] = ("HSQC", "HMBC")
#: The three substructure classes of the substructuresnmr benchmark (its folder names).
SUBSTRUCTURE_CLASSES: tuple[str, ...] = ("fattyacids", "indol", "steroids")
#: Shipped checkpoint per task (stems under nmrlens/weights).
DEFAULT_CHECKPOINTS: dict[str, str] = {
    "substructure": "classify2d_substructure_v1",
    "superclass": "classify2d_superclass_v2",
    "simulated": "classify2d_sim_v1",
    "simulated_small": "classify2d_sim_small_v1",
}
#: Largest image accepted (pixels) and file size (bytes).
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_BYTES = 64 * 1024 * 1024


def load_image(source: "str | os.PathLike[str] | bytes") -> "np.ndarray":
    """Read an image file (PNG, JPEG, ...; or its bytes) as a greyscale uint8 array (H, W).

    Raises:
        DataNotFoundError: when the file does not exist.
        FileFormatError: when it is too large or not an image Pillow can read.
    """
    import io as _io

    from PIL import Image

    if isinstance(source, (bytes, bytearray)):
        if len(source) > MAX_IMAGE_BYTES:
            raise FileFormatError(f"image: {len(source)} bytes, expected at most {MAX_IMAGE_BYTES}")
        fh: Any = _io.BytesIO(source)
        name = "image"
    else:
        p = Path(source)
        if not p.is_file():
            raise DataNotFoundError(f"image: {str(p)!r} does not exist")
        if p.stat().st_size > MAX_IMAGE_BYTES:
            raise FileFormatError(f"image: {str(p)!r} has {p.stat().st_size} bytes, expected at most {MAX_IMAGE_BYTES}")
        fh, name = p, str(p)
    try:
        with Image.open(fh) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise FileFormatError(f"image: {name!r} has {im.width}x{im.height} pixels, expected at most "
                                      f"{MAX_IMAGE_PIXELS} in all")
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            return np.asarray(im.convert("L"), dtype=np.uint8).copy()
    except FileFormatError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise FileFormatError(f"image: {name!r} is not a readable image ({exc})") from None


def preprocess_image(image: "str | os.PathLike[str] | bytes | np.ndarray | Any", size: Sequence[int] = IMAGE_SIZE,
                     *, threshold: float = 0.1, border: int = 1) -> "np.ndarray":
    """The model input of one spectrum image (see the module docstring): float32 (H, W) in [0, 1].

    Args:
        image: a path, the bytes of an image file, a PIL image, or an array: uint8 greyscale /
            RGB(A) with dark peaks on white, or float ink (peaks high) in [0, 1] with ndim 2.
        size: (height, width) of the output in pixels.
        threshold: ink below this is background (0..1).
        border: frame pixels set to 0 after downsampling.
    """
    import torch.nn.functional as F

    h, w = _check_size(size)
    ink = _ink(image)
    if threshold > 0:
        ink = np.where(ink < threshold, 0.0, ink).astype(np.float32)
    t = torch.from_numpy(np.ascontiguousarray(ink, dtype=np.float32))[None, None]
    if t.shape[-2] < h or t.shape[-1] < w:  # upsample small inputs first (nearest) so pooling is defined
        t = F.interpolate(t, size=(max(h, t.shape[-2]), max(w, t.shape[-1])), mode="nearest")
    out = F.adaptive_max_pool2d(t, (h, w))[0, 0].numpy().copy()
    if border > 0:
        out[:border, :] = 0
        out[-border:, :] = 0
        out[:, :border] = 0
        out[:, -border:] = 0
    m = float(out.max())
    if m > 0:
        out /= m
    return out.astype(np.float32)


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and 8 <= v <= 1024 for v in size)):
        raise NmrLensError(f"image size: got {size!r}, expected (height, width) with each in 8..1024 pixels")
    return int(size[0]), int(size[1])


def _ink(image: Any) -> "np.ndarray":
    """Ink (peaks high, 0..1) of any accepted image input, float32 (H, W)."""
    if isinstance(image, (str, os.PathLike, bytes, bytearray)):
        grey = load_image(image)
        return (1.0 - grey.astype(np.float32) / 255.0).astype(np.float32)
    if hasattr(image, "convert") and hasattr(image, "size"):  # a PIL image
        from PIL import Image

        im = image
        if im.width * im.height > MAX_IMAGE_PIXELS:
            raise FileFormatError(f"image: {im.width}x{im.height} pixels, expected at most {MAX_IMAGE_PIXELS}")
        if im.mode in ("RGBA", "LA", "P"):
            im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im.convert("RGBA"))
        grey = np.asarray(im.convert("L"), dtype=np.float32)
        return (1.0 - grey / 255.0).astype(np.float32)
    if isinstance(image, np.ndarray):
        if image.size == 0 or image.size > MAX_IMAGE_PIXELS * 4:
            raise FileFormatError(f"image: array of shape {image.shape}, expected a non-empty image")
        if image.dtype == np.uint8:
            arr = image.astype(np.float32)
            if arr.ndim == 3 and arr.shape[2] in (3, 4):
                rgb = arr[..., :3]
                if arr.shape[2] == 4:  # composite on white
                    a = arr[..., 3:4] / 255.0
                    rgb = rgb * a + 255.0 * (1 - a)
                arr = rgb @ np.asarray([0.299, 0.587, 0.114], dtype=np.float32)
            if arr.ndim != 2:
                raise FileFormatError(f"image: uint8 array of shape {image.shape}, expected (H, W) or (H, W, 3|4)")
            return (1.0 - arr / 255.0).astype(np.float32)
        if image.ndim != 2 or not np.issubdtype(image.dtype, np.floating):
            raise FileFormatError(f"image: array of shape {image.shape} and dtype {image.dtype}, expected uint8 "
                                  "(H, W[, 3|4]) or float ink (H, W)")
        arr = np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        return np.clip(arr, 0.0, 1.0)
    raise FileFormatError(f"image: got {type(image).__name__}, expected a path, bytes, a PIL image or an array")


def stack_branches(images: Mapping[str, "np.ndarray | None"], branches: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack preprocessed images of one sample into model input.

    Args:
        images: experiment -> preprocessed (H, W) array, or None when missing.
        branches: the model's branch order (e.g. ``["HSQC", "HMBC"]``).

    Returns:
        ``(x, present)``: x (1, n_branches, H, W) float32 and present (1, n_branches) float32.
    """
    given = [images.get(b) for b in branches]
    shapes = {a.shape for a in given if a is not None}
    if not shapes:
        raise NmrLensError(f"images: none of the model's experiments ({', '.join(branches)}) was given")
    if len(shapes) > 1:
        raise NmrLensError(f"images: preprocessed sizes differ ({sorted(shapes)}), expected one size")
    shape = shapes.pop()
    x = np.stack([a if a is not None else np.zeros(shape, np.float32) for a in given])[None]
    present = np.asarray([[0.0 if a is None else 1.0 for a in given]], dtype=np.float32)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(present)


class SpectrumCNN(nn.Module):
    """One CNN branch per experiment, features concatenated, one logit per class.

    Args:
        classes: class names (output order).
        branches: experiments, one encoder each (``["HSQC"]``, ``["HMBC"]`` or ``["HSQC", "HMBC"]``).
        multilabel: sigmoid outputs (several or no class per spectrum) instead of softmax.
        image_size: (height, width) the model is trained for.
        channels: conv channels per block (each block halves the resolution).
        coord: coordinate input channels (the position of a peak is its shift).
        head_hidden: hidden units of the head (0: linear head).
        dropout: dropout before the head's layers.
        task: free-text task name stored with the model (e.g. "substructure", "superclass").
        readout: "pool" (global average + max pooling per branch) or "flatten" (the last feature map).
    """

    def __init__(self, classes: Sequence[str] = SUBSTRUCTURE_CLASSES, branches: Sequence[str] = EXPERIMENTS,
                 multilabel: bool = True, image_size: Sequence[int] = IMAGE_SIZE,
                 channels: Sequence[int] = (16, 32, 48, 64), coord: bool = True, head_hidden: int = 64,
                 dropout: float = 0.2, task: str = "substructure", readout: str = "pool") -> None:
        from nmrlens.errors import ConfigError
        from nmrlens.nn.cnn import CNNEncoder, mlp

        super().__init__()
        if not classes or len(set(classes)) != len(classes):
            raise ConfigError(f"classes: got {list(classes)!r}, expected distinct class names")
        bad = [b for b in branches if b not in EXPERIMENTS]
        if not branches or bad or len(set(branches)) != len(branches):
            raise ConfigError(f"branches: got {list(branches)!r}, expected distinct names from {', '.join(EXPERIMENTS)}")
        size = _check_size(list(image_size))
        self.hparams: dict[str, Any] = dict(classes=list(classes), branches=list(branches), multilabel=bool(multilabel),
                                            image_size=list(size), channels=[int(c) for c in channels],
                                            coord=bool(coord), head_hidden=int(head_hidden), dropout=float(dropout),
                                            task=str(task), readout=str(readout))
        self.classes = list(classes)
        self.branches = list(branches)
        self.multilabel = bool(multilabel)
        self.image_size = size
        self.encoders = nn.ModuleList(CNNEncoder(1, channels, coord=coord, readout=readout, input_size=size)
                                      for _ in self.branches)
        dim = sum(e.out_dim for e in self.encoders) + len(self.branches)
        self.head = mlp(dim, head_hidden, len(self.classes), dropout)

    def branch_index(self, branch: str | int) -> int:
        """Index of a branch given by name (e.g. "HMBC") or index."""
        if isinstance(branch, int) and not isinstance(branch, bool) and 0 <= branch < len(self.branches):
            return branch
        if isinstance(branch, str) and branch.upper() in self.branches:
            return self.branches.index(branch.upper())
        raise NmrLensError(f"branch: got {branch!r}, expected one of {', '.join(self.branches)}")

    def target_layer(self, branch: str | int = 0) -> Any:
        """The last convolution of a branch (default target of class-activation maps)."""
        return self.encoders[self.branch_index(branch)].last_conv

    def forward(self, x: torch.Tensor, present: "torch.Tensor | None" = None) -> torch.Tensor:
        """Logits (B, n_classes) of images x (B, n_branches, H, W); ``present`` (B, n_branches) marks the
        experiments that were given (default: all)."""
        if x.ndim != 4 or x.shape[1] != len(self.branches):
            raise NmrLensError(f"input: got shape {tuple(x.shape)}, expected (B, {len(self.branches)}, H, W)")
        if present is None:
            present = torch.ones(x.shape[0], len(self.branches), dtype=x.dtype, device=x.device)
        feats = [enc(x[:, i:i + 1]) * present[:, i:i + 1] for i, enc in enumerate(self.encoders)]
        return self.head(torch.cat([*feats, present], dim=1))

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Class probabilities from logits (sigmoid for multilabel models, softmax otherwise)."""
        return logits.sigmoid() if self.multilabel else logits.softmax(dim=-1)


class SpectrumCNNEnsemble(nn.Module):
    """Several :class:`SpectrumCNN` of one architecture whose class probabilities are averaged.

    ``forward`` returns logits whose :meth:`probabilities` are the members' mean probabilities
    (softmax: the log of the mean; multilabel: the logit of the mean), so the ensemble can be used
    wherever a SpectrumCNN is. Class-activation maps target the first member's layers
    (:meth:`target_layer`) and explain its share of the averaged output.

    Args:
        members: number of members; the other arguments are the members' (see SpectrumCNN).
    """

    def __init__(self, members: int = 3, **member: Any) -> None:
        from nmrlens.errors import ConfigError

        super().__init__()
        if isinstance(members, bool) or not isinstance(members, int) or members < 1:
            raise ConfigError(f"members: got {members!r}, expected a whole number >= 1")
        self.members = nn.ModuleList(SpectrumCNN(**member) for _ in range(members))
        first = self.members[0]
        self.hparams: dict[str, Any] = dict(members=members, **first.hparams)
        self.classes, self.branches = first.classes, first.branches
        self.multilabel, self.image_size = first.multilabel, first.image_size

    @classmethod
    def from_members(cls, models: Sequence[SpectrumCNN]) -> "SpectrumCNNEnsemble":
        """An ensemble holding copies of the weights of ``models`` (same hyper-parameters)."""
        if not models:
            raise NmrLensError("members: got none, expected at least one SpectrumCNN")
        first = dict(models[0].hparams)
        for k, m in enumerate(models[1:], 1):
            if m.hparams != first:
                raise NmrLensError(f"members[{k}]: hyper-parameters differ from members[0]'s, expected one architecture")
        ens = cls(members=len(models), **first)
        for dst, src in zip(ens.members, models):
            dst.load_state_dict(src.state_dict())
        return ens

    def branch_index(self, branch: str | int) -> int:
        """Index of a branch given by name or index (see SpectrumCNN)."""
        return self.members[0].branch_index(branch)

    def target_layer(self, branch: str | int = 0) -> Any:
        """The first member's last convolution of a branch (default target of class-activation maps)."""
        return self.members[0].target_layer(branch)

    def forward(self, x: torch.Tensor, present: "torch.Tensor | None" = None) -> torch.Tensor:
        """Logits (B, n_classes) of the mean member probabilities (see the class docstring)."""
        p = torch.stack([m.probabilities(m(x, present)) for m in self.members]).mean(0)
        p = p.clamp(1e-7, 1 - 1e-7) if self.multilabel else p.clamp_min(1e-12)
        return torch.log(p) - torch.log1p(-p) if self.multilabel else torch.log(p)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Class probabilities from logits (sigmoid for multilabel models, softmax otherwise)."""
        return logits.sigmoid() if self.multilabel else logits.softmax(dim=-1)


@dataclass(frozen=True)
class Classification:
    """A prediction for one sample: class probabilities (class -> 0..1), best class first."""

    probabilities: dict[str, float]
    task: str
    experiments: tuple[str, ...]

    @property
    def label(self) -> str:
        """The most probable class."""
        return max(self.probabilities, key=self.probabilities.__getitem__)


class SpectrumClassifier:
    """A loaded :class:`SpectrumCNN` (or ensemble) with its preprocessing: images (paths/arrays) -> probabilities.

    Use :meth:`load` with a checkpoint stem/path or a task name ("substructure", "superclass",
    "simulated": the shipped checkpoint of that task).
    """

    def __init__(self, model: "SpectrumCNN | SpectrumCNNEnsemble", sidecar: dict[str, Any] | None = None) -> None:
        self.model = model.eval()
        self.sidecar = sidecar or {}

    @classmethod
    def load(cls, checkpoint: str | None = None, task: str = "substructure") -> "SpectrumClassifier":
        """Load ``checkpoint`` (a path/stem; default: the shipped checkpoint of ``task``)."""
        from nmrlens.models.checkpoint import load_checkpoint, weights_path

        if checkpoint is None or checkpoint in DEFAULT_CHECKPOINTS:
            key = checkpoint or task
            if key not in DEFAULT_CHECKPOINTS:
                raise NmrLensError(f"task: got {task!r}, expected one of {', '.join(DEFAULT_CHECKPOINTS)}")
            stem = weights_path(DEFAULT_CHECKPOINTS[key])
            if not stem.with_suffix(".json").is_file():
                raise DataNotFoundError(f"checkpoint: the shipped {key} model ({stem.name}) is not installed; "
                                        "pass --checkpoint")
            checkpoint = str(stem)
        model, sidecar = load_checkpoint(checkpoint)
        if not isinstance(model, (SpectrumCNN, SpectrumCNNEnsemble)):
            raise NmrLensError(f"checkpoint: {checkpoint!r} holds a {type(model).__name__}, expected a SpectrumCNN "
                               "or a SpectrumCNNEnsemble")
        return cls(model, sidecar)

    @property
    def size(self) -> tuple[int, int]:
        """Model input size (height, width)."""
        return self.model.image_size

    def prepare(self, images: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Preprocess experiment -> image inputs (path, bytes, array, PIL image or None) into model input."""
        unknown = [k for k in images if k.upper() not in EXPERIMENTS]
        if unknown:
            raise NmrLensError(f"experiment: got {unknown[0]!r}, expected one of {', '.join(EXPERIMENTS)}")
        pre = {k.upper(): (None if v is None else preprocess_image(v, self.size)) for k, v in images.items()}
        return stack_branches(pre, self.model.branches)

    def predict(self, images: Mapping[str, Any]) -> Classification:
        """Class probabilities of one sample given as experiment -> image (see :meth:`prepare`)."""
        x, present = self.prepare(images)
        with torch.no_grad():
            probs = self.model.probabilities(self.model(x, present))[0].tolist()
        given = tuple(b for b, p in zip(self.model.branches, present[0].tolist()) if p > 0)
        order = sorted(range(len(probs)), key=lambda i: -probs[i])
        return Classification({self.model.classes[i]: float(probs[i]) for i in order},
                              str(self.model.hparams.get("task", "")), given)


# ----------------------------------------------------------------------------- one-call interface

#: File extensions read as 2D peak lists (rendered first) rather than images.
PEAKLIST_EXTENSIONS: tuple[str, ...] = (".json", ".json.gz")


def spectrum_image(source: Any, experiment: str) -> np.ndarray:
    """A uint8 greyscale image (H, W) of one experiment's spectrum.

    ``source``: an image file (PNG, JPEG, ...), a ``.json`` 2D peak list (nmrlens JSON; the
    spectrum of ``experiment`` in it, else its only 2D spectrum) which is rendered with
    :func:`nmrlens.spectra.render2d.render_spectrum2d`, a :class:`~nmrlens.spectra.model.Spectrum2D`,
    or an image array (uint8 greyscale/RGB).
    """
    from nmrlens.spectra.model import Spectrum2D
    from nmrlens.spectra.render2d import render_spectrum2d

    if isinstance(source, Spectrum2D):
        return render_spectrum2d(source)
    if isinstance(source, np.ndarray):
        ink = _ink(source)
        return np.clip(np.rint(255.0 * (1.0 - ink)), 0, 255).astype(np.uint8)
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.name.lower().endswith(PEAKLIST_EXTENSIONS):
            from nmrlens import io

            try:
                queries = io.read(p, "json")
            except NmrLensError as exc:
                raise FileFormatError(f"{experiment}: {str(p)!r} is not a readable nmrlens JSON peak list ({exc})") from None
            spectra = [s for q in queries for s in q.spectra2d]
            if not spectra:
                raise FileFormatError(f"{p}: holds no 2D peak list (expected an HSQC/HMBC 'spectra2d' entry)")
            match = [s for s in spectra if s.experiment == experiment.upper()]
            if not match and len(spectra) > 1:
                raise FileFormatError(f"{p}: holds {len(spectra)} 2D spectra but none is an {experiment}")
            return render_spectrum2d((match or spectra)[0])
        return load_image(p)
    raise FileFormatError(f"{experiment}: got {type(source).__name__}, expected an image file, a .json 2D peak "
                          "list, a Spectrum2D or an image array")


@dataclass(frozen=True)
class Classify2DResult:
    """Result of :func:`classify2d`: the classification, and per experiment the display image and
    (with ``explain``) the heatmap at model resolution for ``explained_class``."""

    classification: Classification
    images: dict[str, np.ndarray]
    heatmaps: dict[str, np.ndarray]
    method: str | None
    explained_class: str | None

    def overlay(self, alpha: float = 0.5) -> np.ndarray:
        """Side-by-side heatmap overlays (RGB uint8) of the explained experiments."""
        from nmrlens.explain.overlay import overlay, side_by_side

        if not self.heatmaps:
            raise NmrLensError("explain: no heatmap was computed (pass explain='gradcam', 'gradcam++' or 'occlusion')")
        return side_by_side([overlay(self.images[b], h, alpha) for b, h in self.heatmaps.items()])


def classify2d(hsqc: Any = None, hmbc: Any = None, *, task: str = "substructure", checkpoint: str | None = None,
               explain: str | None = None, target: str | None = None,
               classifier: SpectrumClassifier | None = None) -> Classify2DResult:
    """Classify HSQC and/or HMBC spectra (images or 2D peak lists, see :func:`spectrum_image`).

    Args:
        hsqc, hmbc: the spectra (at least one).
        task: "substructure" (fatty acid / indole / steroid) or "superclass" (ClassyFire).
        checkpoint: model checkpoint (default: the shipped one of ``task``).
        explain: "gradcam", "gradcam++" or "occlusion": also compute heatmaps.
        target: class to explain (default: the most probable one).
        classifier: an already loaded classifier (overrides task/checkpoint).
    """
    from nmrlens.explain import make_explainer

    clf = classifier or SpectrumClassifier.load(checkpoint, task=task)
    given = {k: v for k, v in (("HSQC", hsqc), ("HMBC", hmbc)) if v is not None}
    if not given:
        raise NmrLensError("spectra: give an HSQC and/or an HMBC spectrum (image or .json peak list)")
    usable = {k: v for k, v in given.items() if k in clf.model.branches}
    if not usable:
        raise NmrLensError(f"spectra: the model takes {', '.join(clf.model.branches)}, got {', '.join(given)}")
    images = {k: spectrum_image(v, k) for k, v in usable.items()}
    result = clf.predict(images)
    heatmaps: dict[str, np.ndarray] = {}
    explained = None
    if explain is not None:
        explained = target or result.label
        if explained not in clf.model.classes:
            raise NmrLensError(f"target: got {explained!r}, expected one of {', '.join(clf.model.classes)}")
        x, present = clf.prepare(images)
        t = clf.model.classes.index(explained)
        for b in images:
            heatmaps[b] = make_explainer(explain, clf.model, branch=b)(x, target=t, present=present)[0]
    return Classify2DResult(result, images, heatmaps, explain, explained)
