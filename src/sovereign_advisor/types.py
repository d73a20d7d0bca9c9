"""Shared constrained types and the base model every schema is generated from."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class Model(BaseModel):
    """Base for every input and knowledge-base record: strict, immutable, self-describing."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        validate_default=True,
    )


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


_ID = re.compile(r"^[a-z0-9][a-z0-9_.@\-]*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")

Id = Annotated[str, Field(pattern=_ID.pattern, min_length=1, max_length=120)]
"""A record id: lower-case letters, digits, `_`, `.` and `-`."""

CountryCode = Annotated[str, Field(pattern=_COUNTRY.pattern)]
"""An ISO 3166-1 alpha-2 country code, upper case (e.g. `FR`)."""

JurisdictionCode = Annotated[str, Field(pattern=r"^([A-Z]{2}|EU)$")]
"""A jurisdiction that can compel access to data: `EU` or an ISO 3166-1 alpha-2 code."""

Share = Annotated[float, Field(ge=0.0, le=1.0), AfterValidator(_finite)]
"""A fraction in [0, 1]."""

NonNegativeFloat = Annotated[float, Field(ge=0.0), AfterValidator(_finite)]
"""A finite number >= 0."""

PositiveFloat = Annotated[float, Field(gt=0.0), AfterValidator(_finite)]
"""A finite number > 0."""

Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
"""An exact, non-negative amount of money in the currency named next to it."""

Currency = Literal["EUR", "USD", "JPY"]
"""A currency the advisor can report in."""

DataClass = Literal[
    "public", "internal", "confidential", "personal", "special_category", "classified"
]
"""The most sensitive content a query (or corpus document) carries."""

DATA_CLASSES: tuple[DataClass, ...] = (
    "public",
    "internal",
    "confidential",
    "personal",
    "special_category",
    "classified",
)

Status = Literal["binding", "provisional", "guidance"]
"""How far a record can be relied on: `binding` (checked against a primary source),
`provisional` (secondary or unverified), `guidance` (non-binding)."""

Sector = Literal[
    "banking",
    "insurance",
    "healthcare",
    "public_sector",
    "defence",
    "manufacturing",
    "retail",
    "telecom",
    "technology",
    "energy",
    "education",
    "other",
]

AnnexIIIArea = Literal[
    "none",
    "biometrics",
    "critical_infrastructure",
    "education",
    "employment",
    "essential_services",
    "law_enforcement",
    "migration",
    "justice_democracy",
]

ProhibitedPractice = Literal[
    "none",
    "manipulation",
    "exploiting_vulnerabilities",
    "social_scoring",
    "predictive_policing",
    "facial_scraping",
    "workplace_emotion_recognition",
    "biometric_categorisation",
    "realtime_remote_biometric_identification",
    "intimate_deepfakes",
    "csam_generation",
]

Preset = Literal["strict", "eu_only", "jp_only", "open"]
