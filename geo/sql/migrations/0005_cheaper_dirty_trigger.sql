-- 0005: the change trigger of 0004 cost about 3 s per million imported rows (a centroid per row, a grouping
-- and a collection of every geometry).  Now a large statement (a bulk import chunk, which touches most of a
-- region anyway) records the one box of its rows; a small one (an edit) still records each 0.05° cell's box,
-- so scattered edits stay small regions, and pipelines, long and few, keep their exact lines, so that moving
-- one re-scores its corridor rather than its whole bounding box.

CREATE OR REPLACE FUNCTION riskmap_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    big constant bigint := 10000;
    n bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO risk_dirty (kind, extent) VALUES (TG_TABLE_NAME, NULL);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT count(*) INTO n FROM new_rows;
        IF n > big AND TG_TABLE_NAME <> 'pipeline' THEN
            INSERT INTO risk_dirty (kind, extent)
            SELECT TG_TABLE_NAME, ST_SetSRID(ST_Extent(geom)::geometry, 4326) FROM new_rows;
        ELSE
            INSERT INTO risk_dirty (kind, extent)
            SELECT TG_TABLE_NAME, CASE WHEN TG_TABLE_NAME = 'pipeline' THEN ST_Collect(geom)
                                       ELSE ST_SetSRID(ST_Extent(geom)::geometry, 4326) END
            FROM new_rows GROUP BY floor(ST_XMin(geom) / 0.05), floor(ST_YMin(geom) / 0.05);
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT count(*) INTO n FROM old_rows;
        IF n > big AND TG_TABLE_NAME <> 'pipeline' THEN
            INSERT INTO risk_dirty (kind, extent)
            SELECT TG_TABLE_NAME, ST_SetSRID(ST_Extent(geom)::geometry, 4326) FROM old_rows;
        ELSE
            INSERT INTO risk_dirty (kind, extent)
            SELECT TG_TABLE_NAME, CASE WHEN TG_TABLE_NAME = 'pipeline' THEN ST_Collect(geom)
                                       ELSE ST_SetSRID(ST_Extent(geom)::geometry, 4326) END
            FROM old_rows GROUP BY floor(ST_XMin(geom) / 0.05), floor(ST_YMin(geom) / 0.05);
        END IF;
    END IF;
    RETURN NULL;
END $$;
