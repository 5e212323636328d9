"""The siting check's report: what ``check_siting`` returns and POST /siting-check serves (its JSON schema is the
endpoint's OpenAPI response), and what ``riskmap siting-check --out FILE.json`` writes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Why(BaseModel):
    rule: str = Field(description="The rule that lists the target.")
    limit_m: float = Field(description="The distance the rule looks at (m).")
    source: str


class Target(BaseModel):
    kind: str
    id: int
    source_id: str
    name: str
    distance_m: float = Field(description="Geodesic distance from the project geometry (WGS 84), m.")
    why: Why


class SettlementTarget(Target):
    people: float
    population: int | None
    households: int | None
    counted_in_alpha: bool = Field(description="Counted in the GB 18218 α (point on surface within the ring, "
                                               "outside the site).")
    inside_site: bool
    gb36894_class: str


class VenueTarget(Target):
    venue_type: str
    vulnerable: bool
    occupancy: int | None
    status: str | None
    inside_site: bool
    gb36894_class: str


class Zone(BaseModel):
    code: Literal["5m", "50m", "200m"]
    limit_m: float = Field(description="The zone's outer distance from the centreline (m).")
    article: str
    article_zh: str
    rule_zh: str
    rule_en: str


class PipelineTarget(Target):
    medium: str
    diameter_mm: float | None
    pressure_mpa: float | None
    operator: str | None
    status: str | None
    crosses_site: bool
    zone: Zone


class MajorHazardTarget(Target):
    industry: str
    s_value: float | None
    r_value: float | None
    major_hazard_level: int | None
    level: str | None = Field(description="The enterprise's four-colour risk level.")


class Targets(BaseModel):
    settlements: list[SettlementTarget]
    venues: list[VenueTarget]
    pipelines: list[PipelineTarget]
    major_hazards: list[MajorHazardTarget]


class ChemicalOut(BaseModel):
    name: str = Field(description="As given.")
    tonnes: float
    hazard_category: str | None
    match: Literal["name", "category"]
    ref: str = Field(description="Table row: T1-n (Table 1) or T2-<category> (Table 2).")
    table_name: str | None = Field(description="The Table 1 name matched.")
    cas: str | None
    q_t: float = Field(description="Critical quantity Q (t).")
    beta: float
    q_ratio: float = Field(description="q/Q")
    beta_q_ratio: float = Field(description="β·q/Q")


class GB18218(BaseModel):
    people_500m: float
    alpha_radius_m: float
    alpha: float
    s_value: float
    beta_sum: float = Field(description="Σβq/Q (R before α).")
    r_value: float
    major_hazard: bool
    major_hazard_level: int | None
    level_name: str | None
    chemicals: list[ChemicalOut]
    source: str


class ScreeningClass(BaseModel):
    target_class: str
    label: str
    members: str
    screening_m: float
    individual_risk_new: float = Field(description="Individual-risk limit per year, new plant.")
    individual_risk_existing: float = Field(description="Individual-risk limit per year, in-service plant.")
    assumption: str


class ClassTarget(BaseModel):
    kind: str
    id: int
    source_id: str
    name: str
    distance_m: float


class ClassFound(BaseModel):
    target_class: str
    label: str
    screening_m: float
    count: int
    nearest_m: float
    targets: list[ClassTarget]


class GB36894(BaseModel):
    standard: str
    fixed_distances: bool = Field(description="False: the standard gives risk criteria, not fixed distances.")
    note_zh: str
    note_en: str
    source: str
    classes: list[ScreeningClass]
    found: list[ClassFound]


class Project(BaseModel):
    name: str | None
    geometry: dict[str, Any]
    geometry_type: Literal["Point", "Polygon"]
    area_m2: float | None = Field(description="Geodesic area of a polygon (WGS 84), m².")
    area_km2: float | None


class Finding(BaseModel):
    code: str
    zh: str
    en: str


class SitingReport(BaseModel):
    project: Project
    gb18218: GB18218
    targets: Targets
    gb36894: GB36894
    findings: list[Finding]
    model_version: str
