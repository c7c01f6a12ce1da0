"""The pipeline's thresholds and margins, read from `catalogue/parameters.yaml` (or the file
named by OVERSIGHT_PARAMETERS). See that file for what each value means."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from oversight.core import settings
from oversight.core.schema import PAYEE_CLASSES

PARAMETERS_ENV = "OVERSIGHT_PARAMETERS"
AS_OF_ENV = "OVERSIGHT_AS_OF"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntityParameters(_Strict):
    supplier_fuzzy_threshold: float = Field(92, ge=0, le=100)
    buyer_fuzzy_threshold: float = Field(90, ge=0, le=100)


class LinkParameters(_Strict):
    start_margin_days: int = Field(30, ge=0)
    grace_days: int = Field(90, ge=0)
    min_confidence: float = Field(0.75, ge=0, le=1)


class IndicatorParameters(_Strict):
    as_of: date | None = None
    review_date_min_value: float = Field(5000, ge=0)
    kpi_value_threshold: float = Field(5_000_000, ge=0)
    min_kpis: int = Field(3, ge=0)
    final_rating_days: int = Field(30, ge=0)
    expired_grace_days: int = Field(90, ge=0)
    overpaid_ratio: float = Field(1.0, gt=0)
    overpaid_plausible_ratio: float = Field(3.0, gt=0)
    overpaid_band_goods_services: float = Field(1.10, gt=0)
    overpaid_band_works: float = Field(1.15, gt=0)
    not_closed_days: int = Field(30, ge=0)
    change_tolerance_goods_services: float = Field(0.10, ge=0)
    change_tolerance_works: float = Field(0.15, ge=0)
    change_tolerance_term: float = Field(0.10, ge=0)
    pipeline_months: int = Field(12, ge=1)
    off_contract_min_spend: float = Field(5000, ge=0)
    large_payment_threshold: float = Field(30_000, ge=0)


class ConcentrationParameters(_Strict):
    hhi_moderate: float = 1500
    hhi_high: float = 2500
    min_suppliers: int = Field(5, ge=1)
    min_spend: float = Field(100_000, ge=0)


class PayeeParameters(_Strict):
    market_classes: tuple[str, ...] = ("company", "charity", "sole_trader", "unknown")
    grant_expense_pattern: str = r"(?i)\bgrants?\b"

    @field_validator("market_classes")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - set(PAYEE_CLASSES)
        if unknown:
            raise ValueError(f"unknown payee classes {sorted(unknown)}; known: {PAYEE_CLASSES}")
        return value


class Parameters(_Strict):
    entities: EntityParameters = EntityParameters()
    payees: PayeeParameters = PayeeParameters()
    links: LinkParameters = LinkParameters()
    indicators: IndicatorParameters = IndicatorParameters()
    concentration: ConcentrationParameters = ConcentrationParameters()

    def as_of(self, override: date | str | None = None, data: date | None = None) -> date:
        """The as-of date: an override (run config, OVERSIGHT_AS_OF), this file's, else the
        data's (`data`, see indicators.data_as_of), else today. Taken from the data, results
        do not drift with the calendar: a sample or a register a year old is judged on the
        date it speaks for, not on today."""
        value = override or os.environ.get(AS_OF_ENV) or self.indicators.as_of
        if value is None:
            return data or date.today()
        return value if isinstance(value, date) else date.fromisoformat(str(value))


def parameters_path() -> Path:
    return Path(
        os.environ.get(PARAMETERS_ENV, settings.PROJECT_ROOT / "catalogue" / "parameters.yaml")
    )


def load_parameters(path: Path | str | None = None) -> Parameters:
    """The parameters file, validated (unknown keys and wrong types are errors)."""
    path = Path(path) if path else parameters_path()
    return Parameters.model_validate(yaml.safe_load(path.read_text()) or {})
