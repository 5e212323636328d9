"""The records' request bodies and responses (api/routes/records.py, api/routes/record_writes.py): every field
documented, so that the OpenAPI document says exactly what is sent and what comes back.

The bodies carry the record kinds' attributes (geo/records/kinds.py) with their canonical values (the Chinese
ones are for files); they become rows of the importer, which checks them as it checks a file's rows.  Unknown
members are refused (422 naming them) rather than silently dropped; further free-form data goes in ``props``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.routes.writes import Scoring

MAX_ID = 2**63 - 1
SiteKind = Literal["enterprise", "tailings_pond", "pipeline", "venue"]
Grade = Literal["general", "major"]
DangerStatus = Literal["open", "rectified", "verified", "reopened"]
InspectionType = Literal["routine", "special", "comprehensive", "look_back"]
Outcome = Literal["no_findings", "dangers_found", "enforcement", "not_inspected"]
Measure = Literal["rectify_order", "suspension", "closure", "fine"]
AccidentClass = Literal["general", "relatively_serious", "serious", "especially_serious"]
Text = Field(None, max_length=1000)
RESERVED = {"id", "source_id", "name", "synthetic", "geometry", "props", "lon", "lat", "wkt"}


def _id(description: str):
    return Field(None, ge=1, le=MAX_ID, description=description)


def _no_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_no_nul(k) and _no_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_no_nul(v) for v in value)
    return True


class _Text(BaseModel):
    """A body whose text PostgreSQL can store: no NUL character anywhere (a 422 naming the field, not a 500)."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        if not _no_nul(value):
            raise ValueError("must not contain a NUL character (\\u0000)")
        return value


class _Body(_Text):
    model_config = ConfigDict(extra="forbid")

    source_id: str | None = Field(None, min_length=1, max_length=1000, pattern=r"\S",
                                  description="The record's register number; one is made up (api-...) when "
                                              "absent.  A record with this source_id must not exist (409).")
    props: dict[str, Any] | None = Field(None, description="Further data kept with the record (free-form); its "
                                                           "keys may not be the record's own fields.")

    @field_validator("props")
    @classmethod
    def _free_keys(cls, props: dict | None) -> dict | None:
        taken = (RESERVED | set(cls.model_fields)) & set(props or {})
        if taken:
            raise ValueError(f"props may not hold the record's own fields: {', '.join(sorted(taken))}")
        return props


class _Site(_Text):
    site_kind: SiteKind | None = Field(None, description="The class of the site.")
    site_id: int | None = _id("The site's riskmap id (or give site_source_id).")
    site_source_id: str | None = Field(None, min_length=1, max_length=1000,
                                       description="The site's register id (its source_id), instead of site_id.")


class _NamedSite(_Site):
    """A record that must name its site."""

    @model_validator(mode="after")
    def _site_named(self):
        if self.site_id is None and self.site_source_id is None:
            raise ValueError("name the site: give site_id (riskmap's id) or site_source_id (its register id)")
        return self


class DangerFound(_Body):
    """A hidden danger found by the inspection it is posted with: its site and inspection are the inspection's,
    its status open."""

    description: str = Field(min_length=1, max_length=1000, description="What the danger is.")
    category: str | None = Text
    grade: Grade = Field(description="general (一般) or major (重大), domain.md §8.")
    found_on: dt.date | None = Field(None, description="The date it was found; the inspection's date by default.")
    deadline: dt.date | None = Field(None, description="The rectification deadline (not before found_on).")
    responsible_unit: str | None = Text
    responsible_person: str | None = Text
    measures: str | None = Field(None, max_length=1000, description="The rectification measures (整改措施).")


class InspectionIn(_Body, _NamedSite):
    """An inspection of one site, with the hidden dangers it found (written together, or not at all)."""

    site_kind: SiteKind = Field(description="The class of the site.")
    inspected_on: dt.date = Field(description="The date of the inspection.")
    team: str | None = Text
    inspection_type: InspectionType | None = Field(None, description="routine by default.")
    outcome: Outcome | None = None
    notes: str | None = Text
    hidden_dangers: list[DangerFound] = Field(default_factory=list, max_length=1000,
                                              description="The hidden dangers found.")


class HiddenDangerIn(_Body, _Site):
    """A hidden danger: of a site, or found by a stored inspection (then of its site)."""

    inspection_id: int | None = _id("The riskmap id of the inspection that found it.")
    inspection_source_id: str | None = Field(None, min_length=1, max_length=1000,
                                             description="The inspection's register id, instead of inspection_id.")
    description: str = Field(min_length=1, max_length=1000, description="What the danger is.")
    category: str | None = Text
    grade: Grade = Field(description="general (一般) or major (重大), domain.md §8.")
    found_on: dt.date = Field(description="The date it was found.")
    deadline: dt.date | None = Field(None, description="The rectification deadline (not before found_on).")
    responsible_unit: str | None = Text
    responsible_person: str | None = Text
    status: DangerStatus | None = Field(None, description="open by default; rectified needs rectified_on, "
                                                          "verified also verified_on, reopened reopened_on.")
    rectified_on: dt.date | None = None
    verified_on: dt.date | None = None
    reopened_on: dt.date | None = None
    measures: str | None = Field(None, max_length=1000, description="The rectification measures (整改措施).")


class DangerChange(_Text):
    """A change of a hidden danger: its status, along the allowed transitions (open → rectified → verified;
    rectified or verified → reopened → rectified), on a date not before it was found nor before its last change,
    and/or the fields an editor may change."""

    model_config = ConfigDict(extra="forbid")

    status: DangerStatus | None = Field(None, description="The new status.")
    on: dt.date | None = Field(None, description="The date of the status change (needed with a status).")
    deadline: dt.date | None = Field(None, description="A new rectification deadline.")
    responsible_unit: str | None = Text
    responsible_person: str | None = Text
    measures: str | None = Field(None, max_length=1000)


class EnforcementActionIn(_Body, _NamedSite):
    """An enforcement measure decided against one site."""

    site_kind: SiteKind = Field(description="The class of the site.")
    decided_on: dt.date = Field(description="The date of the decision.")
    measure: Measure = Field(description="rectify_order (责令整改), suspension (停产整顿), closure (关闭取缔) or fine "
                                         "(罚款).")
    fine_yuan: float | None = Field(None, ge=0, le=1e12, description="The fine in yuan (needed for a fine).")
    lifted_on: dt.date | None = Field(None, description="When it was lifted (复产复工), not before decided_on.")
    notes: str | None = Text


class AccidentIn(_Body, _Site):
    """An accident at a point; its class is derived from the numbers unless given (and then checked)."""

    occurred_on: dt.date = Field(description="The date it happened.")
    accident_type: str | None = Text
    accident_class: AccidentClass | None = Field(None, description="State Council Decree No. 493; derived from "
                                                                   "deaths, serious injuries and loss if absent.")
    deaths: int | None = Field(None, ge=0, le=100_000)
    serious_injuries: int | None = Field(None, ge=0, le=100_000)
    direct_loss_10k_yuan: float | None = Field(None, ge=0, le=1e9, description="Direct loss in 10,000 yuan.")
    source: str | None = Text
    lon: float = Field(ge=-180, le=180, description="Longitude (WGS 84).")
    lat: float = Field(ge=-90, le=90, description="Latitude (WGS 84).")

    @model_validator(mode="after")
    def _class_or_numbers(self):
        if all(v is None for v in (self.accident_class, self.deaths, self.serious_injuries,
                                   self.direct_loss_10k_yuan)):
            raise ValueError("give accident_class, or the deaths, serious_injuries or direct_loss_10k_yuan it "
                             "follows from")
        return self


# ----- responses ----------------------------------------------------------------------------------------------------


class RecordRef(BaseModel):
    id: int
    source_id: str
    href: str


class Written(RecordRef):
    """A record written (201)."""

    kind: str
    scoring: Scoring | None = Field(description="The re-scoring after the write (null when the record cannot "
                                                "change a score: accidents).")


class InspectionWritten(Written):
    hidden_dangers: list[RecordRef] = Field(description="The hidden dangers written with it.")


class SiteRef(BaseModel):
    kind: SiteKind
    id: int
    source_id: str | None = Field(description="Null when the site has been deleted since.")
    name: str | None


class _Stored(BaseModel):
    id: int
    source_id: str
    props: dict[str, Any]
    synthetic: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    history: str = Field(description="The record's history (every change, when and who).")


class DangerSummary(BaseModel):
    id: int
    source_id: str
    grade: Grade
    status: DangerStatus
    deadline: dt.date | None
    href: str


class InspectionOut(_Stored):
    site_kind: SiteKind
    site_id: int
    site: SiteRef | None
    inspected_on: dt.date
    team: str | None
    inspection_type: InspectionType
    outcome: Outcome | None
    notes: str | None
    hidden_dangers: list[DangerSummary]


class Photo(BaseModel):
    id: int
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    size: int = Field(description="Bytes.")
    sha256: str
    taken_at: dt.datetime | None
    created_at: dt.datetime
    added_by: str = Field(description="Who added it (api:<key fingerprint>, cli:<user>).")
    href: str


class InspectionRef(BaseModel):
    id: int
    source_id: str | None


class HiddenDangerOut(_Stored):
    site_kind: SiteKind
    site_id: int
    site: SiteRef | None
    inspection_id: int | None
    inspection: InspectionRef | None
    description: str
    category: str | None
    grade: Grade
    found_on: dt.date
    deadline: dt.date | None
    responsible_unit: str | None
    responsible_person: str | None
    status: DangerStatus
    status_changed_on: dt.date
    rectified_on: dt.date | None
    verified_on: dt.date | None
    reopened_on: dt.date | None
    measures: str | None
    allowed_changes: list[DangerStatus] = Field(description="The statuses it may move to now.")
    photos: list[Photo]


class EnforcementActionOut(_Stored):
    site_kind: SiteKind
    site_id: int
    site: SiteRef | None
    decided_on: dt.date
    measure: Measure
    fine_yuan: float | None
    lifted_on: dt.date | None
    notes: str | None


class AccidentOut(_Stored):
    occurred_on: dt.date
    accident_type: str | None
    accident_class: AccidentClass
    deaths: int
    serious_injuries: int
    direct_loss_10k_yuan: float | None
    site_kind: SiteKind | None
    site_id: int | None
    site: SiteRef | None
    source: str | None
    lon: float
    lat: float


class Change(BaseModel):
    """One change of a record (record_history)."""

    id: int
    operation: Literal["insert", "update", "delete"]
    changed_at: dt.datetime
    changed_by: str = Field(description="Who: api:<key fingerprint>, cli:<user>, or the database user.")
    before: dict[str, Any] | None = Field(description="The row before (null for an insert).")
    after: dict[str, Any] | None = Field(description="The row after (null for a delete).")
    changed: list[str] = Field(description="The columns whose value changed.")


class History(BaseModel):
    kind: str
    id: int
    changes: list[Change]
