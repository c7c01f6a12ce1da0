"""The pipeline's thresholds and margins, read from `catalogue/parameters.yaml` (or the file
named by OVERSIGHT_PARAMETERS). See that file for what each value means."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from oversight import settings

PARAMETERS_ENV = "OVERSIGHT_PARAMETERS"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntityParameters(_Strict):
    supplier_fuzzy_threshold: float = Field(92, ge=0, le=100)
    buyer_fuzzy_threshold: float = Field(90, ge=0, le=100)


class LinkParameters(_Strict):
    start_margin_days: int = Field(30, ge=0)
    grace_days: int = Field(90, ge=0)


class Parameters(_Strict):
    entities: EntityParameters = EntityParameters()
    links: LinkParameters = LinkParameters()


def parameters_path() -> Path:
    return Path(
        os.environ.get(PARAMETERS_ENV, settings.PROJECT_ROOT / "catalogue" / "parameters.yaml")
    )


def load_parameters(path: Path | str | None = None) -> Parameters:
    """The parameters file, validated (unknown keys and wrong types are errors)."""
    path = Path(path) if path else parameters_path()
    return Parameters.model_validate(yaml.safe_load(path.read_text()) or {})
