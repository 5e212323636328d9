"""Settings, read from the environment (RISKMAP_*) once by the CLI or the app factory and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_KEY_LENGTH = 16
# Keys seen in examples and default configurations: refused whatever their length.
WEAK_KEYS = frozenset({"changeme", "change-me", "changethis", "secret", "password", "admin", "riskmap", "apikey",
                       "api-key", "api_key", "default", "test", "testkey", "letmein", "0123456789abcdef",
                       "1234567890123456", "changemechangeme", "secretsecretsecret", "riskmap-api-key",
                       "your-api-key-here", "replace-me-with-a-key"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RISKMAP_", extra="ignore")

    # An existing PostGIS server, e.g. postgresql://user:pass@127.0.0.1:5432/riskmap; unset = embedded cluster.
    database_url: str | None = None
    # Where the embedded cluster keeps its files; unset = the user's data directory (/var/lib/riskmap for root).
    data_dir: Path | None = None
    # The risk-model configuration; unset = the one shipped with riskmap (geo/risk/model.toml).
    risk_model: Path | None = None
    # The supervision settings (inspection frequency per level, look-back window, staffing, each county's staff);
    # unset = the ones shipped with riskmap (geo/supervision/supervision.toml).
    supervision: Path | None = None
    # Administrators' API keys for automation, comma-separated, sent in X-API-Key: each acts as an admin over
    # every area (users with roles and areas: `riskmap users`).  A key shorter than MIN_KEY_LENGTH characters, or
    # a well-known default, is refused at start-up.
    api_keys: str | None = None
    # Whether a request without credentials may read (GET the maps, lists and features); writes always need a
    # signed-in user or a key.  Off unless set; `riskmap demo` serving on a loopback address turns it on.
    anonymous_reads: bool = False
    # How long a write (an upload, a feature added, changed or deleted) waits for the re-scoring it causes, in
    # seconds.  The write is committed before; past this wait it answers with scoring "pending" and the scores
    # follow in the background (GET /health shows their state).  0: never wait.
    rescore_wait_s: float = Field(5.0, ge=0, le=600)
    # The largest request body accepted (an upload), in megabytes; a larger one is refused with 413.
    max_body_mb: float = 200.0
    # The largest request body that is not an upload (a JSON feature, record, plan or siting check; anything but
    # multipart/form-data), in megabytes; a larger one is refused with 413.  Such a body is read whole into memory
    # before it is parsed, so it is capped far below the upload limit.
    max_json_mb: float = Field(5.0, gt=0)
    # The largest photo of a hidden danger accepted (POST /hidden-dangers/{id}/photos), in megabytes; a larger one
    # is refused with 413.  At most 100 (the database's own limit).
    photo_max_mb: float = Field(10.0, gt=0, le=100)
    # The map's basemap: osm (OpenStreetMap, the default), tianditu (needs basemap_key), amap (GCJ-02 tiles,
    # moved onto WGS 84 by the map), none (the admin boundaries alone, for closed networks), or a tile URL
    # template with {z}/{x}/{y}.
    basemap: str = "osm"
    # The key of a basemap service that needs one (Tianditu's "tk").
    basemap_key: str | None = None

    # Refused credentials (each one recorded in the audit trail): after this many from one client address within
    # auth_fail_window_s seconds, that address is answered 429 with Retry-After, its key not even checked, until
    # the oldest of them is older than the window.  0: no limit (every refusal still recorded).
    auth_fail_limit: int = Field(10, ge=0)
    auth_fail_window_s: float = Field(60.0, gt=0)

    # The longest a plan may search (POST /plans: the request's time_limit_s may not exceed it), in seconds.
    plan_max_time_s: float = 120.0
    # City campaigns (POST /campaigns, solved in the background): how many run at a time, counted over every server
    # process of the database (another one is refused with 429 meanwhile; each takes a core for its whole time
    # limit), and the longest a campaign may search, in seconds.
    campaign_max_running: int = Field(1, ge=1, le=16)
    campaign_max_time_s: float = Field(3600.0, gt=0, le=3600)
    # The longest a filtered page of an OGC collection may take in the database (/ogc/collections/{id}/items with
    # a CQL2 filter), in milliseconds: a filter that matches too rarely to fill the page in that time (a scan of
    # most of a large table) is answered 400 with the OGC exception body, saying to narrow it (bbox, datetime, a
    # smaller limit), instead of holding a worker and a connection until the server's own limit (30 s, a 504).
    ogc_filter_timeout_ms: int = Field(5_000, ge=1, le=30_000)

    @field_validator("api_keys")
    @classmethod
    def _strong_keys(cls, value: str | None) -> str | None:
        for key in (k.strip() for k in (value or "").split(",") if k.strip()):
            if len(key) < MIN_KEY_LENGTH:
                raise ValueError(f"an API key in RISKMAP_API_KEYS is {len(key)} characters long; at least "
                                 f"{MIN_KEY_LENGTH} are needed (make one with: python3 -c 'import secrets; "
                                 "print(secrets.token_urlsafe(32))')")
            if key.lower() in WEAK_KEYS or len(set(key)) < 4:
                raise ValueError("an API key in RISKMAP_API_KEYS is a well-known default or too repetitive; make a "
                                 "random one (python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
        return value

    def admin_keys(self) -> frozenset[str]:
        return frozenset(k.strip() for k in (self.api_keys or "").split(",") if k.strip())
