-- 0023: GET /areas (api/sql/areas_page.sql) built every H3 cell's GeoJSON Feature per request: for a zoom-10/11
-- map view, 1,500 cells, ~900 kB, about 20 ms of json_build_object and ST_AsGeoJSON in PostgreSQL on every call,
-- one of its two most expensive queries under load.  An H3 row's Feature depends on the row alone (its name is
-- null, its area level 'h3:' || resolution), so it is now built once, when the row is written, and kept in
-- area_risk.feature_json, exactly as areas_page.sql builds it (the page serves it as it is: byte for byte the same
-- answer).  Admin rows keep being built at query time (their name comes from `area`, which changes on its own):
-- their feature_json is null.
--
-- A BEFORE INSERT OR UPDATE row trigger keeps it current (json_build_object is not immutable: no generated
-- column), whatever writes the row: the scorer's COPY (geo/risk/aggregate.py, a full run), its DELETE and COPY of
-- the changed areas (geo/risk/area_delta.py), an UPDATE by hand.  A value written to the column is replaced.
-- Numbers are written as a session with the server's default extra_float_digits (1: the shortest exact text, as
-- the API's sessions have it) would, whatever the writing session's setting.

ALTER TABLE area_risk ADD COLUMN feature_json text;  -- H3 rows: the row's GeoJSON Feature as GET /areas serves it

COMMENT ON COLUMN area_risk.feature_json IS
    'H3 rows: the row''s GeoJSON Feature (RFC 7946) as text, as GET /areas serves it; kept by a trigger. '
    'Admin rows: null (built at query time with the name from area).';

-- The GeoJSON Feature of an H3 row as text: areas_page.sql's select list with the H3 row's area level and name.
CREATE FUNCTION riskmap_area_feature_json() RETURNS trigger LANGUAGE plpgsql
SET extra_float_digits = 1 AS $$
BEGIN
    IF NEW.area_type = 'h3' THEN
        NEW.feature_json := json_build_object(
            'type', 'Feature',
            'id', NEW.area_type || ':' || NEW.area_id,
            'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(NEW.geom), 7)::json,
            'properties', json_build_object(
                'area_id', NEW.area_id, 'area_type', NEW.area_type, 'resolution', NEW.resolution,
                'area_level', 'h3:' || NEW.resolution, 'name', NULL::text,
                'score', round(NEW.score::numeric, 2), 'level', NEW.level, 'level_max', NEW.level_max,
                'level_banded', NEW.level_banded, 'counts', NEW.counts, 'features', NEW.features,
                'population_exposed', NEW.population_exposed, 'model_version', NEW.model_version))::text;
    ELSE
        NEW.feature_json := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER area_risk_feature_json BEFORE INSERT OR UPDATE ON area_risk
    FOR EACH ROW EXECUTE FUNCTION riskmap_area_feature_json();

-- the rows already scored (the trigger builds their text)
UPDATE area_risk SET feature_json = NULL WHERE area_type = 'h3';
