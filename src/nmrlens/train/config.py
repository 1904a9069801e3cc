"""Typed TOML configs: sections map onto dataclasses; unknown sections or keys are errors."""

from __future__ import annotations

import dataclasses
import random
import tomllib
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

from nmrlens.errors import ConfigError

__all__ = ["load_config", "config_to_dict", "configs_dir", "parse_overrides", "resolve_data_path", "start_run",
           "train_main"]

T = TypeVar("T")


def configs_dir() -> Path:
    """Folder of the shipped training configs."""
    return Path(__file__).resolve().parent / "configs"


def _build(cls: type[T], values: Mapping[str, Any], where: str) -> T:
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(fields)}")
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        f = fields[name]
        if dataclasses.is_dataclass(f.type) or (isinstance(f.type, type) and dataclasses.is_dataclass(f.type)):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}.{name}: expected a table")
            kwargs[name] = _build(f.type, value, f"{where}.{name}")  # type: ignore[arg-type]
        else:
            default = f.default if f.default is not dataclasses.MISSING else None
            if default is not None and isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{where}.{name}: got {value!r}, expected a number")
                value = type(default)(value) if isinstance(default, float) else value
            elif isinstance(default, bool) and not isinstance(value, bool):
                raise ConfigError(f"{where}.{name}: got {value!r}, expected true or false")
            kwargs[name] = value
    return cls(**kwargs)


def load_config(cls: type[T], path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> T:
    """Read a TOML file into the dataclass ``cls`` (whose fields are dataclasses, one per section).

    ``overrides`` maps ``"section.key"`` to a value and is applied after the file.
    """
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config: {str(p)!r} does not exist")
        try:
            data = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config: {str(p)!r} is not valid TOML ({exc})") from None
    for key, value in (overrides or {}).items():
        section, _, name = key.partition(".")
        if not name:
            raise ConfigError(f"override {key!r}: expected section.key=value")
        data.setdefault(section, {})[name] = value
    # resolve string annotations of nested dataclasses
    hints = {f.name: f.type for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    resolved = {}
    for name, tp in hints.items():
        if isinstance(tp, str):
            import typing

            tp = typing.get_type_hints(cls)[name]
        resolved[name] = tp
    unknown = sorted(set(data) - set(resolved))
    if unknown:
        raise ConfigError(f"config: unknown section(s) {', '.join(unknown)}; allowed: {', '.join(resolved)}")
    kwargs = {name: _build(tp, data.get(name, {}), name) for name, tp in resolved.items()}
    return cls(**kwargs)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The resolved config as a plain dict (saved next to every training output)."""
    return dataclasses.asdict(cfg)


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["section.key=value", ...]`` -> ``{"section.key": value}`` (JSON values: numbers, true/false, lists)."""
    import json

    out: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def start_run(cfg: Any, out_dir: Path) -> random.Random:
    """Common start of every trainer: create ``out_dir``, save the resolved config as ``config.json``, set
    torch's thread count and seed from ``cfg.train`` (``threads``, ``seed``); returns a seeded Python RNG.

    ``train.bf16`` (where a trainer has it) is switched off, with a warning, on a CPU without native
    bfloat16 kernels (:func:`nmrlens.nn.bf16_supported`; emulated autocast is many times slower than
    float32); ``config.json`` records the value the run used."""
    import json

    import torch

    from nmrlens.nn import bf16_supported

    if getattr(cfg.train, "bf16", False) and not bf16_supported():
        import logging

        logging.getLogger(__name__).warning("train.bf16: this CPU has no native bfloat16 kernels (emulated autocast is "
                                            "many times slower); training in float32 (NMRLENS_BF16=1 forces bfloat16)")
        cfg.train.bf16 = False
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(config_to_dict(cfg), indent=2) + "\n")
    torch.set_num_threads(cfg.train.threads)
    torch.manual_seed(cfg.train.seed)
    return random.Random(cfg.train.seed)


def resolve_data_path(path: str) -> Path:
    """A data path from a config: absolute or existing paths as they are, others under NMRLENS_DATA_DIR.

    Raises:
        DataNotFoundError: when a relative path needs NMRLENS_DATA_DIR and it is unset.
    """
    import os

    p = Path(path)
    if not p.is_absolute() and not p.exists():
        from nmrlens.errors import DataNotFoundError

        base = os.environ.get("NMRLENS_DATA_DIR")
        if not base:
            raise DataNotFoundError("data.path: relative path needs NMRLENS_DATA_DIR set to the shared data folder")
        p = Path(base) / p
    return p


def train_main(prog: str, description: str, config_cls: type[T], default_config: str,
               train: Callable[[T, Path], dict[str, Any]], argv: Sequence[str] | None = None) -> int:
    """The command line of every trainer: ``--config TOML --out DIR [--set section.key=value ...]``;
    prints the final metrics as JSON."""
    import argparse
    import json
    import logging

    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("--config", default=str(configs_dir() / default_config))
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE")
    args = ap.parse_args(argv)
    cfg = load_config(config_cls, args.config, parse_overrides(args.set))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(json.dumps(train(cfg, args.out), indent=2, default=str))
    return 0
