"""JSON Schemas generated from the pydantic models (the one source of truth).

Regenerate with `python -m sovereign_advisor.schema patterns/schema`; a test fails when the
committed files differ from what this produces.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from sovereign_advisor.advice import Advice
from sovereign_advisor.knowledge.models import (
    Architecture,
    CatalogFile,
    JurisdictionFile,
    PriceFile,
)
from sovereign_advisor.profile import OrganisationProfile

SCHEMAS: dict[str, type[BaseModel]] = {
    "architecture": Architecture,
    "jurisdiction": JurisdictionFile,
    "catalog": CatalogFile,
    "prices": PriceFile,
    "profile": OrganisationProfile,
    "advice": Advice,
}
"""Schema name -> model. Knowledge-base files point at theirs with a yaml-language-server line."""


def schema_text(name: str) -> str:
    schema = SCHEMAS[name].model_json_schema(
        mode="validation" if name != "advice" else "serialization"
    )
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://sovereign-advisor.invalid/schema/{name}.schema.json"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = directory / f"{name}.schema.json"
        path.write_text(schema_text(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "patterns/schema")):
        print(path)
