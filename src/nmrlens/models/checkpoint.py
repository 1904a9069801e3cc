"""Checkpoints: tensors in safetensors, everything else in a JSON sidecar; loading never unpickles.

A checkpoint ``NAME`` is two files, ``NAME.safetensors`` and ``NAME.json``. The sidecar holds
``format_version``, ``nmrlens_version``, ``model_class`` (a key of :data:`MODEL_REGISTRY`),
``hparams`` (the constructor arguments: the model is rebuilt from them with no special cases),
``training_data`` (a description), ``metrics`` (measured at save time), ``extra`` (small JSON
state such as calibration constants), ``created`` and the SHA-256 of the tensor file. An older
``format_version`` is upgraded by the converters in :data:`CONVERTERS`, never silently misread.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import json
from pathlib import Path
from typing import Any, Callable

from nmrlens import __version__
from nmrlens.errors import ConfigError, DataNotFoundError, NmrLensError, OutputExistsError
from nmrlens.io._base import write_text_atomic

__all__ = ["FORMAT_VERSION", "MODEL_REGISTRY", "CONVERTERS", "save_checkpoint", "load_checkpoint",
           "read_sidecar", "weights_path"]

FORMAT_VERSION = 1
#: model_class name -> "module:Class". Only these classes can be loaded.
MODEL_REGISTRY: dict[str, str] = {
    "ShiftModel": "nmrlens.models.shifts:ShiftModel",
    "ShiftEnsemble": "nmrlens.models.shifts:ShiftEnsemble",
    "SpectrumCNN": "nmrlens.models.classify2d:SpectrumCNN",
    "SpectrumCNNEnsemble": "nmrlens.models.classify2d:SpectrumCNNEnsemble",
    "ReversibleNet": "nmrlens.models.invert:ReversibleNet",
    "PeakListModel": "nmrlens.models.peaklist:PeakListModel",
    "AssignModel": "nmrlens.models.assign:AssignModel",
    "RetrievalModel": "nmrlens.models.retrieval:RetrievalModel",
    "GenerationModel": "nmrlens.models.generate:GenerationModel",
}
#: format_version -> function upgrading a sidecar dict of that version to the next one.
CONVERTERS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _finite(obj: Any) -> Any:
    """Replace non-finite floats by None, recursively (JSON has no NaN)."""
    import math

    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def weights_path(name: str) -> Path:
    """Path stem of a checkpoint shipped in ``nmrlens/weights`` (without extension)."""
    return Path(__file__).resolve().parents[1] / "weights" / name


def _stem(path: str | Path) -> Path:
    """Checkpoint stem of a path (``.safetensors`` / ``.json`` dropped); a bare name such as
    ``"shifts_v3"`` that is not a checkpoint in the working folder is the shipped checkpoint of that name."""
    p = Path(path)
    p = p.with_suffix("") if p.suffix in (".safetensors", ".json") else p
    if not p.with_suffix(".json").exists() and len(p.parts) == 1 and weights_path(p.name).with_suffix(".json").exists():
        return weights_path(p.name)
    return p


def save_checkpoint(model: Any, path: str | Path, *, training_data: dict[str, Any] | None = None,
                    metrics: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
                    force: bool = False, half: bool = False) -> Path:
    """Save ``model`` (a registered class with ``hparams``) as ``path.safetensors`` + ``path.json``.

    ``half`` stores floating-point tensors as float16 (half the size; they are loaded back into the
    model's float32 parameters, so measure metrics on the reloaded checkpoint).

    Returns:
        The path stem. Both files are written atomically; nothing is written if either exists
        and ``force`` is False.
    """
    import os
    import tempfile

    from safetensors.torch import save_file

    stem = _stem(path)
    name = type(model).__name__
    if name not in MODEL_REGISTRY:
        raise NmrLensError(f"model_class: {name!r} is not registered in MODEL_REGISTRY")
    tensor_path, json_path = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    for p in (tensor_path, json_path):
        if p.exists() and not force:
            raise OutputExistsError(f"output: {str(p)!r} exists; pass force=True to overwrite")
    stem.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    fd, tmp = tempfile.mkstemp(prefix=f".{tensor_path.name}.", suffix=".tmp", dir=stem.parent)
    os.close(fd)
    try:
        save_file(state, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        digest = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()
        sidecar = {
            "format_version": FORMAT_VERSION,
            "nmrlens_version": __version__,
            "model_class": name,
            "hparams": dict(model.hparams),
            "training_data": training_data or {},
            "metrics": metrics or {},
            "extra": extra or {},
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "sha256": digest,
            "stored_dtype": "float16" if half else "float32",
        }
        text = json.dumps(_finite(sidecar), indent=2, sort_keys=True, allow_nan=False) + "\n"
        os.replace(tmp, tensor_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    write_text_atomic(json_path, text, force=True)
    return stem


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """Read and upgrade the JSON sidecar of a checkpoint."""
    json_path = _stem(path).with_suffix(".json")
    if not json_path.is_file():
        raise DataNotFoundError(f"checkpoint: {str(json_path)!r} does not exist")
    try:
        sidecar = json.loads(json_path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"checkpoint: {str(json_path)!r} is not valid JSON ({exc.msg})") from None
    version = sidecar.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ConfigError(f"checkpoint: format_version {version!r} is not supported (this nmrlens reads <= {FORMAT_VERSION})")
    while version < FORMAT_VERSION:
        if version not in CONVERTERS:
            raise ConfigError(f"checkpoint: no converter from format_version {version}")
        sidecar = CONVERTERS[version](sidecar)
        version = sidecar["format_version"]
    return sidecar


def load_checkpoint(path: str | Path, *, verify: bool = True) -> tuple[Any, dict[str, Any]]:
    """Rebuild a model from its checkpoint (stem, .json or .safetensors path, or the name of a shipped
    checkpoint such as ``"shifts_v3"``).

    Returns:
        ``(model, sidecar)`` with the model in eval mode.
    """
    from safetensors.torch import load_file

    stem = _stem(path)
    sidecar = read_sidecar(stem)
    cls_name = sidecar.get("model_class")
    if cls_name not in MODEL_REGISTRY:
        raise ConfigError(f"checkpoint: model_class {cls_name!r} is not one of {', '.join(MODEL_REGISTRY)}")
    tensor_path = stem.with_suffix(".safetensors")
    if not tensor_path.is_file():
        raise DataNotFoundError(f"checkpoint: {str(tensor_path)!r} does not exist")
    if verify and sidecar.get("sha256"):
        digest = hashlib.sha256(tensor_path.read_bytes()).hexdigest()
        if digest != sidecar["sha256"]:
            raise ConfigError(f"checkpoint: {str(tensor_path)!r} does not match the SHA-256 in its sidecar")
    module_name, class_name = MODEL_REGISTRY[cls_name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    model = cls(**sidecar["hparams"])
    model.load_state_dict(load_file(str(tensor_path)), strict=True)
    model.eval()
    return model, sidecar
