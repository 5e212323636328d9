-- 0010: a road network for inspection planning (issue 6): `riskmap roads import FILE` fills it from an
-- OSM-derived road file, and plans then take their travel times from it with pgRouting (the pgrouting extension is
-- created by that command, not here, so a server without pgRouting still runs every other part of riskmap).
--
-- road_node: the junctions and dead ends (where ways share a vertex, or end).
-- road_edge: the ways split at those nodes; cost_h / reverse_cost_h are the hours to drive the edge forward and
-- backward (-1: not allowed, a one-way road), at the road's maxspeed or its class's speed.
CREATE TABLE road_node (
    id bigint PRIMARY KEY,
    geom geometry(Point, 4326) NOT NULL
);
CREATE INDEX road_node_geom_idx ON road_node USING gist (geom);

CREATE TABLE road_edge (
    id bigint PRIMARY KEY,
    source bigint NOT NULL REFERENCES road_node (id),
    target bigint NOT NULL REFERENCES road_node (id),
    highway text,
    speed_kmh double precision NOT NULL CHECK (speed_kmh > 0 AND speed_kmh <= 200),
    length_m double precision NOT NULL CHECK (length_m >= 0),
    cost_h double precision NOT NULL,
    reverse_cost_h double precision NOT NULL,
    geom geometry(LineString, 4326) NOT NULL
);
CREATE INDEX road_edge_geom_idx ON road_edge USING gist (geom);

-- what was imported, when, from which file
CREATE TABLE road_import (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    imported_at timestamptz NOT NULL DEFAULT now(),
    file text NOT NULL,
    ways integer NOT NULL,
    edges integer NOT NULL,
    nodes integer NOT NULL
);
