-- 0001: the feature store (design.md "Storage"; attributes from geo/kinds.py, domain.md §1-§5).
-- One table per feature class, geometry in EPSG:4326 with a GiST index, a stable source id unique per class,
-- typed attributes (all optional but the class's required one), free-form extra properties, and constraints
-- that keep invalid data out even if it bypasses the importer.  Source ids are opaque identifiers compared
-- byte by byte (COLLATE "C"): their unique index is then about twice as fast to build and to search.

CREATE EXTENSION IF NOT EXISTS postgis;

-- enterprise (production or storage site)
CREATE TABLE enterprise (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id text COLLATE "C" NOT NULL CHECK (source_id <> ''),
    name text NOT NULL CHECK (name <> ''),
    industry text NOT NULL,
    chemicals jsonb,
    status text,
    employees integer,
    flexible_worker_share double precision,
    violations_12m integer,
    open_hidden_dangers integer,
    major_hidden_danger boolean,
    last_inspection date,
    props jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(props) = 'object'),
    synthetic boolean NOT NULL DEFAULT false,
    geom geometry(Geometry, 4326) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (industry IN ('hazardous_chemicals', 'metallurgy', 'mining', 'fireworks', 'oil_gas_storage', 'building_materials', 'machinery', 'light_industry', 'dust_explosion', 'ammonia_refrigeration', 'power', 'logistics', 'other')),
    CHECK (jsonb_typeof(chemicals) = 'array'),
    CHECK (status IN ('operating', 'suspended', 'closed', 'under_construction')),
    CHECK (employees BETWEEN 0 AND 1000000),
    CHECK (flexible_worker_share BETWEEN 0 AND 1),
    CHECK (violations_12m BETWEEN 0 AND 100000),
    CHECK (open_hidden_dangers BETWEEN 0 AND 100000),
    CONSTRAINT enterprise_geom_type CHECK (GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')),
    CONSTRAINT enterprise_geom_valid CHECK (NOT ST_IsEmpty(geom) AND ST_IsValid(geom)),
    CONSTRAINT enterprise_source_id_key UNIQUE (source_id)
);
CREATE INDEX enterprise_geom_idx ON enterprise USING gist (geom);

-- tailings pond (尾矿库)
CREATE TABLE tailings_pond (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id text COLLATE "C" NOT NULL CHECK (source_id <> ''),
    name text NOT NULL CHECK (name <> ''),
    dam_height_m double precision,
    capacity_10k_m3 double precision,
    safety_state text,
    downstream_direction_deg double precision,
    downstream_population integer,
    ore text,
    status text,
    major_hidden_danger boolean,
    last_inspection date,
    props jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(props) = 'object'),
    synthetic boolean NOT NULL DEFAULT false,
    geom geometry(Geometry, 4326) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (dam_height_m BETWEEN 0 AND 400),
    CHECK (capacity_10k_m3 BETWEEN 0 AND 1000000),
    CHECK (safety_state IN ('normal', 'ill', 'dangerous', 'critical')),
    CHECK (downstream_direction_deg BETWEEN 0 AND 360),
    CHECK (downstream_population BETWEEN 0 AND 10000000),
    CHECK (status IN ('operating', 'suspended', 'closed', 'under_construction')),
    CONSTRAINT tailings_pond_geom_type CHECK (GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')),
    CONSTRAINT tailings_pond_geom_valid CHECK (NOT ST_IsEmpty(geom) AND ST_IsValid(geom)),
    CONSTRAINT tailings_pond_source_id_key UNIQUE (source_id)
);
CREATE INDEX tailings_pond_geom_idx ON tailings_pond USING gist (geom);

-- oil or gas pipeline
CREATE TABLE pipeline (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id text COLLATE "C" NOT NULL CHECK (source_id <> ''),
    name text NOT NULL CHECK (name <> ''),
    medium text NOT NULL,
    diameter_mm double precision,
    pressure_mpa double precision,
    year_built integer,
    operator text,
    depth_of_cover_m double precision,
    status text,
    props jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(props) = 'object'),
    synthetic boolean NOT NULL DEFAULT false,
    geom geometry(Geometry, 4326) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (medium IN ('natural_gas', 'crude_oil', 'refined_oil', 'hazardous_chemical')),
    CHECK (diameter_mm BETWEEN 1 AND 3000),
    CHECK (pressure_mpa BETWEEN 0 AND 40),
    CHECK (year_built BETWEEN 1900 AND 2100),
    CHECK (depth_of_cover_m BETWEEN 0 AND 50),
    CHECK (status IN ('operating', 'suspended', 'closed', 'under_construction')),
    CONSTRAINT pipeline_geom_type CHECK (GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING')),
    CONSTRAINT pipeline_geom_valid CHECK (NOT ST_IsEmpty(geom) AND ST_IsValid(geom)),
    CONSTRAINT pipeline_source_id_key UNIQUE (source_id)
);
CREATE INDEX pipeline_geom_idx ON pipeline USING gist (geom);

-- crowded venue (人员密集场所)
CREATE TABLE venue (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id text COLLATE "C" NOT NULL CHECK (source_id <> ''),
    name text NOT NULL CHECK (name <> ''),
    venue_type text NOT NULL,
    floor_area_m2 double precision,
    storey integer,
    occupancy integer,
    exits integer,
    exits_blocked boolean,
    exit_width_ratio double precision,
    sprinklers boolean,
    fire_alarm boolean,
    last_fire_inspection date,
    status text,
    props jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(props) = 'object'),
    synthetic boolean NOT NULL DEFAULT false,
    geom geometry(Geometry, 4326) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (venue_type IN ('mall', 'market', 'hospital', 'nursing_home', 'kindergarten', 'school', 'hotel', 'entertainment', 'cinema', 'stadium', 'exhibition', 'transport_hub', 'religious', 'square', 'other')),
    CHECK (floor_area_m2 BETWEEN 0 AND 10000000),
    CHECK (storey BETWEEN -10 AND 200),
    CHECK (occupancy BETWEEN 0 AND 1000000),
    CHECK (exits BETWEEN 0 AND 1000),
    CHECK (exit_width_ratio BETWEEN 0 AND 10),
    CHECK (status IN ('operating', 'suspended', 'closed', 'under_construction')),
    CONSTRAINT venue_geom_type CHECK (GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')),
    CONSTRAINT venue_geom_valid CHECK (NOT ST_IsEmpty(geom) AND ST_IsValid(geom)),
    CONSTRAINT venue_source_id_key UNIQUE (source_id)
);
CREATE INDEX venue_geom_idx ON venue USING gist (geom);

-- settlement (resident population)
CREATE TABLE settlement (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id text COLLATE "C" NOT NULL CHECK (source_id <> ''),
    name text NOT NULL CHECK (name <> ''),
    population integer,
    households integer,
    buildings_4plus_dominant boolean,
    props jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(props) = 'object'),
    synthetic boolean NOT NULL DEFAULT false,
    geom geometry(Geometry, 4326) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (population BETWEEN 0 AND 50000000),
    CHECK (households BETWEEN 0 AND 20000000),
    CHECK (population IS NOT NULL OR households IS NOT NULL),
    CONSTRAINT settlement_geom_type CHECK (GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')),
    CONSTRAINT settlement_geom_valid CHECK (NOT ST_IsEmpty(geom) AND ST_IsValid(geom)),
    CONSTRAINT settlement_source_id_key UNIQUE (source_id)
);
CREATE INDEX settlement_geom_idx ON settlement USING gist (geom);

-- administrative area
CREATE TABLE area (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id text COLLATE "C" NOT NULL CHECK (source_id <> ''),
    name text NOT NULL CHECK (name <> ''),
    admin_code text NOT NULL,
    level text NOT NULL,
    parent_code text,
    props jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(props) = 'object'),
    synthetic boolean NOT NULL DEFAULT false,
    geom geometry(Geometry, 4326) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (level IN ('province', 'city', 'county', 'township')),
    CONSTRAINT area_geom_type CHECK (GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON')),
    CONSTRAINT area_geom_valid CHECK (NOT ST_IsEmpty(geom) AND ST_IsValid(geom)),
    CONSTRAINT area_source_id_key UNIQUE (source_id)
);
CREATE INDEX area_geom_idx ON area USING gist (geom);
CREATE UNIQUE INDEX area_admin_code_key ON area (admin_code);

-- Every import that wrote something, for the audit trail.
CREATE TABLE import_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    file text NOT NULL,
    source_crs text NOT NULL,
    rows_read integer NOT NULL,
    inserted integer NOT NULL,
    updated integer NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);
