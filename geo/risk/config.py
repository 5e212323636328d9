"""Loading the risk-model configuration (``model.toml``, or the user's copy)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from geo.errors import RiskmapError


class ModelConfigError(RiskmapError):
    exit_code = 2


def shipped_model_path() -> Path:
    return Path(str(resources.files("geo.risk").joinpath("model.toml")))


def load_model(path: str | Path | None = None) -> dict:
    """The model parameters: the shipped file, or ``path``; ModelConfigError names what is wrong."""
    p = Path(path) if path else shipped_model_path()
    try:
        model = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelConfigError(f"risk model file {p}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise ModelConfigError(f"risk model file {p}: not valid TOML: {e}") from None
    for key in ("version", "levels", "context", "area", "exposure", "records", "enterprise", "tailings_pond",
                "pipeline", "venue"):
        if key not in model:
            raise ModelConfigError(f"risk model file {p}: missing {key!r}")
    return model
